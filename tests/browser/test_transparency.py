"""The demo study's public transparency report on a 360 px phone, signed out, with axe.

``HONORA_SCREENSHOTS=docs/screenshots`` also saves it as ``transparency.png`` (the README's).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import assert_fits

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_public_report_reads_on_a_phone(narrow_phone, a11y, live_server):
    from demo.data import seed_demo
    from transparency.models import Publication

    seed_demo()
    publication = Publication.objects.get()
    page = narrow_phone
    base = live_server.url

    page.goto(base + "/transparency/")
    a11y.check(page)
    assert_fits(page)
    page.get_by_role("link", name="Figures up to").first.click()
    page.wait_for_url(f"**/transparency/{publication.public_id}/")
    a11y.check(page)
    assert_fits(page)
    # On a phone a too-wide page widens the layout viewport itself; the screen stays 360.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    text = page.inner_text("main")
    assert publication.sha256 in text
    assert "fewer than 5" in text
    assert page.locator("#quick-exit").is_visible()
    # Amounts and downloads stay in sight without scrolling sideways.
    width = page.evaluate("window.innerWidth")
    for cell in page.locator("[data-money], [download]").all():
        box = cell.bounding_box()
        if box:
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1

    shots = os.environ.get("HONORA_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        # The top of the report, as the crawl's README screenshots stop at 2,400 px.
        height = page.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": 360, "height": min(height, 2400)}
        page.screenshot(
            path=str(Path(shots) / "transparency.png"),
            full_page=True,
            clip=clip,
            animations="disabled",
        )
