"""The payout pages in a real browser: live progress while a batch pays, and axe-core.

Uses the browser fixtures of tests/browser (system chromium, offline); skips
with the reason shown when no browser is installed.
"""

# The browser fixtures are imported by name, so test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.urls import reverse

from consultants.models import PayoutMethod
from payments.services.finance import payment_record_manual
from tests.browser.conftest import (  # noqa: F401 - fixtures used by name
    _playwright,
    a11y,
    browser,
    context,
    page,
    sign_in_with_session,
)
from tests.payments.payout_support import (
    CUTOFF,
    approved,
    build,
    consultant_with_work,
    executed_batch,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_batch_page_follows_payments_live(
    page, a11y, context, client, live_server, engagement, coordinator, finance, finance2
):
    approved(engagement, approver=coordinator)
    batch = executed_batch(builder=finance, approver=finance2)
    payment = batch.payments.get()
    sign_in_with_session(context, client, finance, live_server.url)

    page.goto(live_server.url + reverse("payments:batch", kwargs={"public_id": batch.public_id}))
    a11y.check(page)
    pill = page.locator(f'[data-payment-status="{payment.public_id}"]')
    assert pill.inner_text() == "Waiting for hand-over"  # a check: nobody has handed it over

    # Someone records the hand-over elsewhere; this page catches up by itself.
    payment_record_manual(payment=payment, by=finance2, reference="1001", handed_over_on=CUTOFF)
    page.wait_for_function(
        "id => document.querySelector(`[data-payment-status=\"${id}\"]`).textContent === 'Paid'",
        arg=str(payment.public_id),
        timeout=10_000,
    )
    assert page.locator("[data-batch-status]").first.inner_text() == "Completed"
    assert page.locator("[data-progress-done]").is_visible()
    assert page.locator("[data-progress-counts]").inner_text().split() == ["Paid", "1"]


def test_finance_pages_pass_axe(
    page, a11y, context, client, live_server, engagement, coordinator, finance
):
    approved(engagement, approver=coordinator)
    approved(engagement, approver=coordinator, kind="reimbursement", quantity="12.50")
    consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    batch = build(by=finance)
    held = batch.payments.get(status="held")
    sign_in_with_session(context, client, finance, live_server.url)
    for url in (
        reverse("payments:home"),
        reverse("payments:batch_build"),
        reverse("payments:batch", kwargs={"public_id": batch.public_id}),
        reverse("payments:payment", kwargs={"public_id": held.public_id}),
        reverse("payments:stripe_status"),
    ):
        page.goto(live_server.url + url)
        a11y.check(page)

    # A refused build keeps the input and says why, and still passes.
    page.goto(live_server.url + reverse("payments:batch_build"))
    page.get_by_label("Pay approved work up to").fill("2020-01-01")
    page.get_by_role("button", name="Build the batch").click()
    page.wait_for_load_state("load")
    assert "There is no approved, unpaid work" in page.content()
    a11y.check(page)


def test_the_portal_payments_page_passes_axe(
    page, a11y, context, client, live_server, consultant, engagement, coordinator, finance
):
    consultant.payout_method = PayoutMethod.STRIPE
    consultant.save()
    approved(engagement, approver=coordinator)
    build(by=finance)
    sign_in_with_session(context, client, consultant.user, live_server.url)
    page.goto(live_server.url + reverse("portal:payments"))
    assert page.get_by_role("button", name="Set up direct deposit").is_visible()
    assert "On hold: your direct deposit setup is not finished yet." in page.content()
    a11y.check(page)


def test_the_country_choice_fits_a_360_px_phone(
    browser, a11y, client, live_server, consultant, engagement, coordinator, finance
):
    """Direct-deposit set-up asks for the country on the smallest phones too: the list is
    labelled, reachable, and the page never scrolls sideways."""
    from tests.browser.conftest import _offline

    consultant.payout_method = PayoutMethod.STRIPE
    consultant.save()
    approved(engagement, approver=coordinator)
    build(by=finance)
    small = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    small.route("**/*", _offline(live_server.url))
    small.set_default_timeout(15_000)
    try:
        phone = small.new_page()
        sign_in_with_session(small, client, consultant.user, live_server.url)
        phone.goto(live_server.url + reverse("portal:payments"))
        country = phone.get_by_label("Country where you will receive payments")
        assert country.is_visible()
        assert country.input_value() == "US"  # the platform's country comes first
        box = country.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        assert phone.get_by_role("button", name="Set up direct deposit").is_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        a11y.check(phone)
    finally:
        small.close()
