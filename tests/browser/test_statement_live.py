"""A statement being prepared appears on /me/receipts/ by itself, on a phone, announced
in a live region: nobody is asked to reload. Waits on what the page shows, never sleeps."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from payments.documents.statements import statement_generate
from tests.browser.conftest import sign_in_with_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_statement_appears_by_itself(phone, live_server, client, paid_by_check_as_pseudonym):
    payment, receipt = paid_by_check_as_pseudonym
    year = receipt.year
    sign_in_with_session(phone.context, client, payment.consultant.user, live_server.url)
    phone.goto(live_server.url + "/me/receipts/")
    phone.get_by_role("button", name=f"Prepare my statement for {year}").click()
    block = phone.locator(f"#statement-{year} [aria-live=polite]")
    expect(block).to_contain_text("Being prepared")
    expect(block).to_have_attribute("data-statement-poll", f"/me/statements/status/?year={year}")
    assert not phone.get_by_text("Reload this page").count()

    # The worker stores it; the open page shows the download without a reload.
    statement_generate(consultant=payment.consultant, year=year)
    link = block.get_by_role("link", name=f"Statement for {year} (PDF)")
    expect(link).to_be_visible(timeout=20_000)
    expect(block).not_to_contain_text("Being prepared")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
