"""A checked CSV file is imported once, however many times its form is sent.

The dry run (``check_file``) runs the import and rolls it back; a clean file's
hash goes in the person's session, and the file itself travels back with the
form as a signed, compressed token, so nothing is kept on the server between
the dry run and the import and nothing goes in a URL. ``import_checked_file``
imports it for real, once: a mark in the shared cache, set with ``cache.add``,
stops a second click or the same form sent again from another tab.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache

from engagements.imports import ImportReport, content_hash, run_import

IMPORT_SESSION_KEY = "engagements.import"
IMPORT_SALT = "engagements.import"
IMPORT_MAX_AGE = 60 * 60
IMPORT_USED_PREFIX = "engagements.import-used:"


def import_token(content: bytes, user) -> str:
    # The checked file travels back with the form, signed: nothing is kept on
    # the server between the dry run and the import, and nothing goes in a URL.
    packed = base64.b64encode(zlib.compress(content)).decode("ascii")
    return signing.dumps({"u": user.pk, "f": packed}, salt=IMPORT_SALT)


def import_content(token: str, user) -> bytes | None:
    try:
        payload = signing.loads(token, salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE)
        if payload.get("u") != user.pk:
            return None
        return zlib.decompress(base64.b64decode(payload["f"]))
    except (signing.BadSignature, KeyError, TypeError, binascii.Error, zlib.error):
        return None


def check_file(*, content: bytes, by, session) -> tuple[ImportReport, str]:
    """The dry run: the report, and for a clean file the token its import form sends back."""
    report = run_import(content=content, by=by, commit=False)
    if not report.clean:
        return report, ""
    session[IMPORT_SESSION_KEY] = content_hash(content)
    return report, import_token(content, by)


@dataclass
class ImportAttempt:
    """What came of sending a checked file's token.

    ``outcome`` is "unchecked" (no valid token, or not the file this session
    checked), "already_imported" (imported before, or being imported right now),
    "imported", or "changed" (something changed since the dry run: nothing was
    imported; ``report`` says what).
    """

    outcome: str
    report: ImportReport | None = None


def import_checked_file(*, token: str, by, session) -> ImportAttempt:
    """Import the file a dry run checked in this session, all or nothing, and once only."""
    content = import_content(token, by)
    expected = session.get(IMPORT_SESSION_KEY)
    digest = content_hash(content) if content is not None else None
    if content is None or expected != digest:
        return ImportAttempt("unchecked")
    # The checked file is imported once: a second click, or the same form sent
    # again from another tab, finds the mark and stops. cache.add is atomic on
    # the shared cache (database or Redis), so two requests at once cannot both
    # pass; the session alone cannot tell, as each request reads its own copy.
    used_key = f"{IMPORT_USED_PREFIX}{digest}"
    if not cache.add(used_key, by.pk, timeout=IMPORT_MAX_AGE):
        session.pop(IMPORT_SESSION_KEY, None)
        return ImportAttempt("already_imported")
    report = None
    try:
        report = run_import(content=content, by=by, commit=True)
    finally:
        if report is None or not report.imported:
            cache.delete(used_key)  # nothing was imported: it may be checked and tried again
    session.pop(IMPORT_SESSION_KEY, None)
    return ImportAttempt("imported" if report.imported else "changed", report)
