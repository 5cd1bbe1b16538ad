"""Finance pages that follow background work by themselves, in a real browser:
annual statements being prepared, and a batch page at phone width.

Uses the browser fixtures of tests/browser (system chromium, offline).
"""

# The browser fixtures are imported by name, so test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.documents.tasks import generate_statement
from tests.browser.conftest import (  # noqa: F401 - fixtures used by name
    _playwright,
    a11y,
    browser,
    context,
    page,
    sign_in_with_session,
)
from tests.payments.payout_support import approved, build, consultant_with_work

pytestmark = pytest.mark.django_db(transaction=True)


def test_statements_being_prepared_show_up_without_a_reload(
    page, a11y, context, client, live_server, finance, paid_by_check
):
    payment, receipt = paid_by_check
    year = receipt.year
    sign_in_with_session(context, client, finance, live_server.url)
    page.goto(live_server.url + reverse("payments:statements", kwargs={"year": year}))
    page.get_by_role("button", name=f"Prepare all statements for {year}").click()
    page.wait_for_load_state("load")
    progress = page.locator("#progress")
    assert "1 still being prepared" in progress.inner_text()
    a11y.check(page)

    # A worker prepares it while the page stays open: the page catches up by itself.
    generate_statement.call(payment.consultant.pk, year, finance.pk)
    page.wait_for_function(
        "() => !document.querySelector('#progress').hasAttribute('data-still-waiting')",
        timeout=15_000,
    )
    assert f"The one consultant paid in {year} has a statement." in progress.inner_text()
    assert page.locator("#statements-list a[data-download]").count() == 1


def test_the_batch_page_is_whole_at_phone_width(
    page, a11y, context, client, live_server, engagement, coordinator, finance
):
    approved(engagement, approver=coordinator)
    consultant_with_work(approver=coordinator, name="Wren-Alexandria Montgomery-Okonkwo")
    batch = build(by=finance)
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in_with_session(context, client, finance, live_server.url)
    page.goto(live_server.url + reverse("payments:batch", kwargs={"public_id": batch.public_id}))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Every money cell is inside the viewport, without sideways scrolling.
    for box in page.locator("[data-money]:visible").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })"
    ):
        assert box[0] >= 0 and box[1] <= 360, box
    # The summary and the flags come before the actions.
    order = page.evaluate(
        "['summary-title','flags-title','actions-title']"
        ".map(id => document.getElementById(id).getBoundingClientRect().top)"
    )
    assert order == sorted(order)
    a11y.check(page)
