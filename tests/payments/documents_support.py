"""Builders for the document tests: a paid payment with its receipt, PDFs read back.

Everything goes through the services (as a worker would run them), so the
receipts and statements are what real use makes.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf

from consultants.models import TaxForm
from consultants.services import vault_update
from payments.documents.models import Receipt
from payments.documents.receipts import receipt_issue
from payments.documents.tasks import issue_receipt
from tests.payments.factories_payouts import STANDARD_ENTRIES, approved_work, paid_manual_payment

LEGAL_NAME = "Rivera Example"
PSEUDONYM = "R. M."
TIN = "900-70-1234"


def pdf_text(data: bytes) -> str:
    """The text of a PDF, read by a real PDF reader."""
    assert data.startswith(b"%PDF-"), data[:40]
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def paid_with_receipt(
    engagement,
    *,
    coordinator,
    coordinator2,
    finance,
    finance2,
    name_as="legal_name",
    by_task=False,
):
    """The owner's standard work (hours, an honorarium, a reimbursement), paid by check.

    The consultant has a legal name in the vault and a pseudonym; ``name_as`` is how
    they chose to be named on receipts. ``by_task`` issues the receipt through the task a
    worker runs when a payment is paid (storage and all), instead of the service.
    """
    consultant = engagement.consultant
    consultant.payout_method = "check"
    consultant.pseudonym = PSEUDONYM
    consultant.receipt_name = name_as
    consultant.save()
    TaxForm.objects.filter(consultant=consultant).update(
        status="received", received_on=date(2026, 1, 5)
    )
    vault_update(
        consultant=consultant,
        by=finance,
        reason="",
        legal_name=LEGAL_NAME,
        taxpayer_id=TIN,
        mailing_address="12 Elm Street\nSpringfield, IL 62701",
    )
    approved_work(engagement, logger=coordinator, approver=coordinator2, entries=STANDARD_ENTRIES)
    payment = paid_manual_payment(finance=finance, finance2=finance2)
    if by_task:
        issue_receipt.call(payment.pk)
        return payment, Receipt.objects.get(payment=payment)
    return payment, receipt_issue(payment_id=payment.pk)


def assert_pdf_states_the_receipt(text: str, receipt: Receipt, *, name: str) -> None:
    """Number, name as chosen, every item and the totals, checked against the database."""
    assert f"Receipt {receipt.number}" in text
    assert f"Paid to {name}" in text
    payment = receipt.payment
    items = list(payment.items.filter(live=True).select_related("contribution"))
    assert len(items) == len(receipt.lines) == 3
    for item in items:
        c = item.contribution
        assert c.date.strftime("%-d %B %Y") in text  # as people write dates
        assert f"${item.amount:,.2f}" in text
        if c.kind == "hours":
            assert f"{c.quantity.normalize():f} h × ${c.rate:,.2f}" in text
    pay = sum((i.amount for i in items if i.contribution.kind != "reimbursement"), Decimal(0))
    back = sum((i.amount for i in items if i.contribution.kind == "reimbursement"), Decimal(0))
    assert receipt.pay_total == pay and receipt.reimbursement_total == back
    assert f"Pay total ${pay:,.2f}" in text
    assert f"Reimbursements total ${back:,.2f}" in text
    assert f"Total paid: ${payment.amount:,.2f} {payment.currency}" in text
    assert receipt.verification_code in text
