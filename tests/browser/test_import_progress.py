"""A large file's import page follows the worker by itself, on the narrowest phone:
the progress bar, then the report, with nobody asked to reload. Waits on what the page
shows, never sleeps."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engagements.models import ImportRun
from tests.browser.conftest import assert_fits, sign_in_with_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_import_page_shows_the_progress_then_the_report(
    narrow_phone, a11y, live_server, client, coordinator
):
    run = ImportRun.objects.create(
        by=coordinator, digest="0" * 64, size=200, bytes_done=50, status="running"
    )
    sign_in_with_session(narrow_phone.context, client, coordinator, live_server.url)
    narrow_phone.goto(f"{live_server.url}/import/{run.public_id}/")
    bar = narrow_phone.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "25")
    expect(narrow_phone.get_by_text("25% of the file read.")).to_be_visible()
    expect(narrow_phone.get_by_role("link", name="Refresh")).to_be_visible()
    assert_fits(narrow_phone)
    a11y.check(narrow_phone)

    # The worker reads further, then finishes: the open page follows.
    ImportRun.objects.filter(pk=run.pk).update(bytes_done=150)
    expect(bar).to_have_attribute("value", "75", timeout=20_000)
    row = {
        "number": 2,
        "line": 3,
        "values": {"consultant": "Nobody"},
        "errors": ["No consultant is called “Nobody”."],
        "warnings": [],
        "approved": False,
    }
    result = {"header_errors": [], "rows": [row], "row_count": 2, "error_count": 1}
    ImportRun.objects.filter(pk=run.pk).update(status="done", bytes_done=200, result=result)
    report = narrow_phone.locator("#import-run")
    expect(report).to_contain_text("1 row needs fixing", timeout=20_000)
    expect(report).to_contain_text("No consultant is called “Nobody”.")
    expect(narrow_phone.get_by_role("progressbar")).to_have_count(0)
    assert_fits(narrow_phone)
    a11y.check(narrow_phone)
