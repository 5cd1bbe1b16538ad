"""A paid payment whose receipt the real task renders, and a consultant with vault data."""

from __future__ import annotations

from datetime import date

from consultants.models import TaxForm
from consultants.services import vault_update
from payments.documents.models import Receipt
from payments.documents.tasks import issue_receipt
from tests.payments.documents_support import LEGAL_NAME, PSEUDONYM, TIN
from tests.payments.factories_payouts import STANDARD_ENTRIES, approved_work, paid_manual_payment


def paid_and_receipted(engagement, *, coordinator, coordinator2, finance, finance2):
    consultant = engagement.consultant
    consultant.payout_method = "check"
    consultant.pseudonym = PSEUDONYM
    consultant.receipt_name = "legal_name"
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
    issue_receipt.call(payment.pk)  # the task a worker runs when a payment is paid
    return payment, Receipt.objects.get(payment=payment)
