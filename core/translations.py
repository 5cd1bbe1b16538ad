"""Checks that keep the committed translation catalogs complete (issue 15).

Three questions, each answered as a list of plain-language problems (empty: all good):

- ``extraction_problems()``: do the msgids the code and templates mark for translation
  (``makemessages``, run on a temporary copy of the tree: the committed files are never
  touched) equal the msgids of the committed ``.po`` files? Needs GNU gettext (xgettext).
- ``po_problems()``: is any entry of a committed ``.po`` untranslated or fuzzy?
- ``mo_problems()``: does each committed ``.mo`` hold exactly its ``.po``'s translations?
  (Parsed with polib and loaded with ``gettext.GNUTranslations``: catalogs compared, not
  bytes, so two msgfmt versions agree.) Needs no gettext binary.

``manage.py translations_check`` runs all three (CI); ``tests/i18n/test_catalogs.py`` runs
the last two in the README's ``uv run pytest``. polib is a development dependency: import
this module from checks and tests only, never from a page.
"""

from __future__ import annotations

import gettext
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings

DOMAINS = ("django", "djangojs")
# What makemessages skips, the way the project extracts: tooling, tests and vendored code
# never reach a consultant.
IGNORE = [
    ".venv",
    "node_modules",
    "tests",
    "bench",
    "stripe_sandbox",
    "static/vendor",
    "staticfiles",
    "docs",
    "tools",
    "var",
    "locale",
]
# Never copied into the temporary tree (large, or not sources).
_NOT_COPIED = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
_NOT_COPIED |= {".pytest_cache", ".hypothesis", "var", "staticfiles", "locale", "media"}

Key = tuple[str, str, str]  # (msgctxt, msgid, msgid_plural)


def locale_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def languages() -> list[str]:
    """The languages other than the source language (English)."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def po_path(language: str, domain: str, base: Path | None = None) -> Path:
    return (base or locale_dir()) / language / "LC_MESSAGES" / f"{domain}.po"


def _name(path: Path) -> Path:
    """A path as the report shows it: relative to the project when inside it."""
    try:
        return path.relative_to(settings.BASE_DIR)
    except ValueError:
        return path


def _key(entry: Any) -> Key:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def _describe(key: Key) -> str:
    ctxt, msgid, plural = key
    text = repr(msgid)
    if plural:
        text += f" (plural {plural!r})"
    if ctxt:
        text += f" [context {ctxt!r}]"
    return text


def msgids(path: Path) -> set[Key]:
    """The live (not obsolete) msgids of a .po file; empty when it does not exist."""
    import polib  # type: ignore[import-untyped]

    if not path.exists():
        return set()
    return {_key(e) for e in polib.pofile(str(path)) if not e.obsolete}


# --- (a) the extracted set equals the committed one ----------------------------------


def _copy_sources(root: Path, target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_COPIED or n.endswith((".pyc", ".sqlite3"))}

    for child in root.iterdir():
        if child.name in _NOT_COPIED:
            continue
        if child.is_dir():
            shutil.copytree(child, target / child.name, ignore=ignore, symlinks=True)
        else:
            shutil.copy2(child, target / child.name)


def extract(language: str, workdir: Path) -> dict[str, Path]:
    """Run makemessages, as the project does, on a copy of the tree in ``workdir``.

    Returns {domain: the .po makemessages wrote} (a domain with no messages writes none).
    The committed locale/ is not copied, so every msgid comes from the code alone.
    """
    from django.core.management import call_command
    from django.test.utils import override_settings

    root = Path(settings.BASE_DIR)
    tree = workdir / "tree"
    tree.mkdir()
    _copy_sources(root, tree)
    out = tree / "locale"
    out.mkdir()
    here = os.getcwd()
    try:
        os.chdir(tree)
        with override_settings(LOCALE_PATHS=[str(out)]):
            for domain in DOMAINS:
                call_command(
                    "makemessages",
                    locale=[language],
                    domain=domain,
                    ignore_patterns=list(IGNORE),
                    no_obsolete=True,
                    verbosity=0,
                )
    finally:
        os.chdir(here)
    return {domain: po_path(language, domain, out) for domain in DOMAINS}


def extraction_problems(languages_: Iterable[str] | None = None) -> list[str]:
    problems: list[str] = []
    for language in languages_ or languages():
        with tempfile.TemporaryDirectory(prefix="honora-makemessages-") as tmp:
            extracted = extract(language, Path(tmp))
            for domain, fresh in extracted.items():
                committed = po_path(language, domain)
                wanted, have = msgids(fresh), msgids(committed)
                name = _name(committed)
                for key in sorted(wanted - have):
                    problems.append(f"{name}: missing {_describe(key)} (in the code, not here)")
                for key in sorted(have - wanted):
                    problems.append(f"{name}: obsolete {_describe(key)} (no longer in the code)")
    return problems


# --- (b) every entry translated, none fuzzy ------------------------------------------


def committed_po_files() -> list[Path]:
    return sorted(locale_dir().glob("*/LC_MESSAGES/*.po"))


def _nplurals(plural_forms: str) -> int | None:
    for part in plural_forms.split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "nplurals" and value.strip().isdigit():
            return int(value)
    return None


def po_problems(paths: Iterable[Path] | None = None) -> list[str]:
    import polib

    problems: list[str] = []
    for path in committed_po_files() if paths is None else paths:
        po = polib.pofile(str(path))
        name = _name(path)
        if po.metadata_is_fuzzy:
            problems.append(f"{name}: the header is marked fuzzy (remove '#, fuzzy')")
        nplurals = _nplurals(po.metadata.get("Plural-Forms", ""))
        for entry in po:
            if entry.obsolete:
                continue
            if entry.msgid_plural and nplurals and len(entry.msgstr_plural) != nplurals:
                problems.append(
                    f"{name}:{entry.linenum}: {len(entry.msgstr_plural)} plural forms, the "
                    f"header says {nplurals}: {_describe(_key(entry))}"
                )
            if "fuzzy" in entry.flags:
                problems.append(f"{name}:{entry.linenum}: fuzzy {_describe(_key(entry))}")
            elif not entry.translated():
                problems.append(f"{name}:{entry.linenum}: untranslated {_describe(_key(entry))}")
    return problems


# --- (c) each .mo holds its .po -------------------------------------------------------


def _expected_catalog(path: Path) -> dict[object, str]:
    """What msgfmt puts in the .mo: translated, non-fuzzy entries, keyed as
    GNUTranslations keys them ("ctxt\\x04msgid"; (msgid, n) for plural forms)."""
    import polib

    catalog: dict[object, str] = {}
    for entry in polib.pofile(str(path)):
        if entry.obsolete or "fuzzy" in entry.flags or not entry.translated():
            continue
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            for n, text in entry.msgstr_plural.items():
                catalog[(msgid, int(n))] = text
        else:
            catalog[msgid] = entry.msgstr
    return catalog


def _mo_catalog(path: Path) -> dict[object, str]:
    with path.open("rb") as handle:
        catalog = dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
    catalog.pop("", None)  # the header
    return catalog


def mo_problems(paths: Iterable[Path] | None = None) -> list[str]:
    problems: list[str] = []
    po_files = committed_po_files() if paths is None else list(paths)
    for po in po_files:
        mo = po.with_suffix(".mo")
        name = _name(mo)
        if not mo.exists():
            problems.append(f"{name}: missing (run `manage.py compilemessages`)")
            continue
        expected, compiled = _expected_catalog(po), _mo_catalog(mo)
        for key in sorted(set(expected) - set(compiled), key=str):
            problems.append(f"{name}: lacks {key!r} (recompile)")
        for key in sorted(set(compiled) - set(expected), key=str):
            problems.append(f"{name}: has {key!r}, which the .po no longer translates")
        for key in sorted(set(expected) & set(compiled), key=str):
            if expected[key] != compiled[key]:
                problems.append(
                    f"{name}: {key!r} is {compiled[key]!r}, the .po says {expected[key]!r}"
                )
    if paths is None:
        for mo in sorted(locale_dir().glob("*/LC_MESSAGES/*.mo")):
            if not mo.with_suffix(".po").exists():
                problems.append(f"{_name(mo)}: has no .po")
    return problems
