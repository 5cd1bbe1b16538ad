"""An entry's staff page: the receipt a paid entry is on, and what an adjustment adjusts."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from engagements.models import Contribution
from engagements.services.contributions import contribution_adjust
from tests.engagements.pages_support import approved, text
from tests.payments.documents_support import paid_with_receipt

pytestmark = pytest.mark.django_db


def detail(c):
    return reverse("engagements:contribution_detail", kwargs={"public_id": c.public_id})


def test_a_paid_entry_names_its_receipt_and_finance_can_open_it(
    client, engagement, coordinator, coordinator2, finance, finance2
):
    payment, receipt = paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
    )
    entry = payment.items.first().contribution
    assert entry.status == Contribution.Status.PAID
    client.force_login(coordinator)
    page = text(client.get(detail(entry)))
    assert "Payment receipt" in page and receipt.number in page
    assert "Receipt</dt><dd>none" not in page and ">none<" not in page
    # The receipt's page is finance's: the coordinator sees the number, without a link.
    receipt_url = reverse("payments:receipt", kwargs={"public_id": receipt.public_id})
    assert receipt_url not in page
    client.force_login(finance)
    page = text(client.get(detail(entry)))
    assert f'<a href="{receipt_url}">{receipt.number}</a>' in page


def test_an_unpaid_entry_names_no_receipt(client, engagement, coordinator, coordinator2):
    c = approved(engagement, coordinator, coordinator2)
    client.force_login(coordinator)
    page = text(client.get(detail(c)))
    assert "Payment receipt" not in page
    # Hours carry no proof of expense: no "none" line for it either.
    assert "Proof of the expense" not in page


def test_an_adjustment_says_which_entry_it_adjusts_and_labels_its_own_reason(
    client, engagement, coordinator, coordinator2
):
    original = approved(engagement, coordinator, coordinator2, date=date(2026, 3, 3))
    adjustment = contribution_adjust(
        contribution=original,
        by=coordinator,
        quantity_delta=Decimal("-0.5"),
        reason="Call ended early",
    )
    client.force_login(coordinator2)
    page = text(client.get(detail(adjustment)))
    assert f'This entry adjusts <a href="{detail(original)}">the entry of 3 March 2026</a>.' in page
    assert "Reason for the adjustment</dt><dd>Call ended early</dd>" in page
    assert "2026-03-03" not in page
    # Its description is its reason: said once, as the reason.
    assert "Description</dt>" not in page
