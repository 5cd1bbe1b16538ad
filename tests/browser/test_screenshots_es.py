"""Screenshots of Honora in Spanish, for issue 15's closing note (a tool, not a check).

    HONORA_SCREENSHOTS_ES=docs/screenshots/es uv run pytest tests/browser/test_screenshots_es.py -n 0

saves, over the demo's data with River reading Spanish:

- ``consultant-home-1280.png`` and ``consultant-home-390.png``: the consultant's home;
- ``receipt.png``: a receipt rendered in Spanish (the PDF, page 1, through ``pdftoppm``
  from poppler-utils when it is installed; otherwise the receipt's HTML in the browser);
- ``quick-exit-390.png``: the quick exit strip on a phone.

Without HONORA_SCREENSHOTS_ES the test skips. The pictures need the merged Spanish catalog
(locale/es/LC_MESSAGES/django.mo): without it they would show English, so the test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.browser.conftest import _offline, sign_in_with_session
from tests.browser.test_crawl import _shrink, demo_world  # noqa: F401  (the demo's data)

pytestmark = pytest.mark.skipif(
    not os.environ.get("HONORA_SCREENSHOTS_ES"),
    reason="a tool: set HONORA_SCREENSHOTS_ES=<dir> to save the Spanish screenshots",
)


def _spanish_catalog_is_there() -> None:
    from django.utils import translation

    with translation.override("es"):
        spanish = translation.gettext("Exit this page")
    assert spanish != "Exit this page", "no Spanish catalog: merge locale/es first"


def _context(browser, live_server, width: int, height: int):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="es-US",
        is_mobile=width < 500,
    )
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    return context


def _receipt_png(receipt, target: Path, browser) -> None:
    from django.utils import translation

    from payments.documents.receipts import receipt_html
    from payments.documents.rendering import render_pdf

    with translation.override("es"):
        html = receipt_html(receipt)
    if shutil.which("pdftoppm"):
        with tempfile.TemporaryDirectory() as tmp:
            pdf = Path(tmp) / "receipt.pdf"
            pdf.write_bytes(render_pdf(html))
            stem = Path(tmp) / "receipt"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", pdf, stem],
                check=True,
            )
            shutil.copy(f"{stem}.png", target)
    else:
        page = browser.new_page(viewport={"width": 816, "height": 1056})
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(target), full_page=True)
        page.close()
    _shrink(target)


def test_save_the_spanish_screenshots(browser, live_server, client, request):
    _spanish_catalog_is_there()
    world = request.getfixturevalue("demo_world")
    shots = Path(os.environ["HONORA_SCREENSHOTS_ES"])
    shots.mkdir(parents=True, exist_ok=True)
    river = world["users"]["consultant@example.org"]
    consultant = river.consultant
    consultant.preferred_language = "es"
    consultant.save(update_fields=["preferred_language"])

    for width, height in ((1280, 900), (390, 844)):
        context = _context(browser, live_server, width, height)
        sign_in_with_session(context, client, river, live_server.url)
        page = context.new_page()
        page.goto(live_server.url + "/me/")
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang", timeout=5_000).startswith("es")
        home = shots / f"consultant-home-{width}.png"
        page.screenshot(path=str(home), full_page=False, animations="disabled")
        _shrink(home)
        if width == 390:
            strip = page.locator(".exit-strip").bounding_box()
            assert strip is not None, "no quick exit on the consultant's home"
            exit_png = shots / "quick-exit-390.png"
            page.screenshot(
                path=str(exit_png),
                clip={"x": 0, "y": 0, "width": width, "height": strip["y"] + strip["height"] + 160},
                animations="disabled",
            )
            _shrink(exit_png)
        context.close()

    # A receipt written in Spanish, as a Spanish reader gets one: finance replaces a demo
    # receipt asking for Spanish (a replacement keeps the original's language otherwise).
    from payments.documents.receipts import receipt_replace

    spanish = receipt_replace(
        receipt=world["receipts"][0],
        by=world["users"]["finance@example.org"],
        reason="Copia en español",
        language="es",
    )
    assert spanish.language == "es"
    _receipt_png(spanish, shots / "receipt.png", browser)
    saved = sorted(p.name for p in shots.glob("*.png"))
    assert {"consultant-home-1280.png", "receipt.png", "quick-exit-390.png"} <= set(saved), saved
