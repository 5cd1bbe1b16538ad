"""Vendor the U.S. Web Design System's built files into static/vendor/uswds/.

Honora uses USWDS (public domain, built for accessible public services) as it is
published: the compiled CSS and JavaScript from the npm package's ``dist/``, at a
pinned version, committed, so running Honora never needs Node.js. Honora's own theme
is a thin layer on top (static/css/honora.css).

    python tools/vendor_uswds.py            # re-vendor the pinned version
    python tools/vendor_uswds.py 3.15.0     # move to another version

Needs npm (only here, never to run Honora). Copies exactly what the CSS and JS refer
to (fonts, images, source maps) plus the icon sprite, so collectstatic's hashed
storage finds every file it rewrites, and records the version and the package's
SHA-512 integrity in static/vendor/uswds/VERSION.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "static" / "vendor" / "uswds"
VERSION_FILE = TARGET / "VERSION"
PACKAGE = "@uswds/uswds"
ENTRY_FILES = ("css/uswds.min.css", "js/uswds.min.js", "js/uswds-init.min.js", "img/sprite.svg")
URL = re.compile(r"url\(\s*['\"]?([^'\")]+?)['\"]?\s*\)")
VERSION_PATTERN = re.compile(r"\d+\.\d+\.\d+")
SOURCE_MAP = re.compile(r"sourceMappingURL=(\S+?)\s*(?:\*/)?\s*$", re.M)


def pinned_version() -> str:
    for line in VERSION_FILE.read_text().splitlines():
        if line.startswith("version="):
            return line.split("=", 1)[1].strip()
    raise SystemExit(f"no version= line in {VERSION_FILE}")


def referenced(dist: Path, relative: str) -> set[str]:
    """Files under dist/ that ``relative`` refers to (url(...) and source maps)."""
    path = dist / relative
    if path.suffix not in (".css", ".js"):
        return set()
    text = path.read_text(encoding="utf-8")
    found: set[str] = set()
    refs = [m.group(1) for m in SOURCE_MAP.finditer(text)]
    if path.suffix == ".css":
        refs += [m.group(1) for m in URL.finditer(text)]
    for ref in refs:
        if ref.startswith(("data:", "http:", "https:", "#", "/")):
            continue
        ref = ref.split("?", 1)[0].split("#", 1)[0]
        target = (path.parent / ref).resolve().relative_to(dist.resolve())
        found.add(target.as_posix())
    return found


def vendor(version: str) -> None:
    if not VERSION_PATTERN.fullmatch(version):
        raise SystemExit(f"not a release version: {version!r} (e.g. 3.14.0)")
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch the package (running Honora never needs it)")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(  # noqa: S603 - fixed program, version checked above
            [npm, "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
        )
        packed = json.loads(out.stdout)[0]
        with tarfile.open(Path(tmp) / packed["filename"]) as archive:
            archive.extractall(tmp, filter="data")
        dist = Path(tmp) / "package" / "dist"
        wanted = set(ENTRY_FILES)
        for entry in ENTRY_FILES:
            wanted |= referenced(dist, entry)
        missing = sorted(f for f in wanted if not (dist / f).is_file())
        if missing:
            raise SystemExit(f"{PACKAGE}@{version} lacks files its CSS/JS refer to: {missing}")
        if TARGET.exists():
            for child in TARGET.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        TARGET.mkdir(parents=True, exist_ok=True)
        for relative in sorted(wanted):
            (TARGET / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dist / relative, TARGET / relative)
        shutil.copyfile(Path(tmp) / "package" / "LICENSE.md", TARGET / "LICENSE.md")
        VERSION_FILE.write_text(
            f"package={PACKAGE}\nversion={packed['version']}\n"
            f"integrity={packed['integrity']}\n"
            f"files={len(wanted)}\n"
            "# Written by tools/vendor_uswds.py; do not edit the files here by hand.\n"
        )
    print(f"vendored {PACKAGE}@{version}: {len(wanted)} files in {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    vendor(sys.argv[1] if len(sys.argv) > 1 else pinned_version())
