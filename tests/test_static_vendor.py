"""The vendored design system is whole: the version recorded is the version served, and
every file its CSS and JavaScript refer to is there (hashed static storage would refuse
to build otherwise, and a browser would log a 404)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings

sys.path.insert(0, str(settings.BASE_DIR / "tools"))
import vendor_uswds

DIST = vendor_uswds.TARGET


def test_the_recorded_version_is_the_one_served():
    version = vendor_uswds.pinned_version()
    css = (DIST / "css" / "uswds.min.css").read_text(encoding="utf-8")
    assert f"/*! uswds v{version} */" in css[:200]


def test_every_file_the_css_and_js_refer_to_is_vendored():
    wanted: set[str] = set()
    for entry in vendor_uswds.ENTRY_FILES:
        assert (DIST / entry).is_file(), entry
        wanted |= vendor_uswds.referenced(DIST, entry)
    assert len(wanted) > 20, "the CSS refers to its fonts and icons"
    missing = sorted(f for f in wanted if not (DIST / f).is_file())
    assert not missing, missing
    recorded = next(
        line for line in (DIST / "VERSION").read_text().splitlines() if line.startswith("files=")
    )
    assert int(recorded.split("=")[1]) == len(wanted | set(vendor_uswds.ENTRY_FILES))


def test_the_base_page_loads_uswds_before_the_theme():
    base = Path(settings.BASE_DIR / "templates" / "base.html").read_text()
    assert base.index("vendor/uswds/css/uswds.min.css") < base.index("css/honora.css")
