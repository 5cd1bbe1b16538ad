"""Approved work for the income tests, made through the real services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from consultants.models import TaxForm
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve


def ready_to_pay(consultant) -> None:
    """Paid by check, W-9 on file: nothing holds a payment back."""
    consultant.payout_method = "check"
    consultant.save()
    TaxForm.objects.filter(consultant=consultant).update(
        status="received", received_on=date(2026, 1, 5)
    )


def work(engagement, *, approver, kind="hours", value="2", day=None):
    """One entry logged by the consultant and approved by ``approver``."""
    day = day or timezone.localdate() - timedelta(days=1)
    fields = (
        {"claimed_amount": Decimal(value)}
        if kind == "reimbursement"
        else {"quantity": Decimal(value)}
    )
    c = contribution_create(
        engagement=engagement,
        by=engagement.consultant.user,
        kind=kind,
        activity="travel" if kind == "reimbursement" else "work",
        date=day,
        submit=True,
        **fields,
    )
    return contribution_approve(contribution=c, by=approver)
