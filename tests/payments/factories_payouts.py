"""Helpers that walk contributions to a paid payment through the real services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from payments.services.finance import payment_record_manual


def approved_work(engagement, *, logger, approver, entries):
    """entries: (kind, activity, date, quantity or claimed amount)."""
    done = []
    for kind, activity, day, value in entries:
        fields = {"claimed_amount": value} if kind == "reimbursement" else {"quantity": value}
        c = contribution_create(
            engagement=engagement,
            by=logger,
            kind=kind,
            activity=activity,
            date=day,
            submit=True,
            **fields,
        )
        done.append(contribution_approve(contribution=c, by=approver))
    return done


def paid_manual_payment(
    *,
    finance,
    finance2,
    reference="1001",
    handed_over_on=date(2026, 11, 20),
    cutoff=date(2026, 11, 26),
):
    batch = batch_build(by=finance, cutoff_date=cutoff, today=cutoff)
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    payment = batch.payments.get()
    assert payment.status == "processing", payment.hold_detail
    return payment_record_manual(
        payment=payment,
        by=finance,
        reference=reference,
        handed_over_on=handed_over_on,
        today=cutoff,
    )


STANDARD_ENTRIES = [
    ("hours", "work", date(2026, 3, 12), Decimal("2.5")),
    ("honorarium", "meeting", date(2026, 3, 14), Decimal("1")),
    ("reimbursement", "travel", date(2026, 3, 14), Decimal("23.40")),
]
