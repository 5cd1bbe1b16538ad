"""Claims and advances for the page tables: made through the services on first use."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from expenses.models import Advance, AdvanceReceipt, ClaimFile
from expenses.services import advance_grant, advance_receipt_add, claim_create
from tests.expenses.support import plain_jpeg


def _coordinator():
    from tests.factories import UserFactory

    return UserFactory(roles=["coordinator"])


def advance(records) -> Advance:
    """An advance granted on the owner's engagement (made once per test)."""
    existing = Advance.objects.filter(engagement=records["engagement"]).first()
    if existing is not None:
        return existing
    return advance_grant(
        engagement=records["engagement"],
        by=_coordinator(),
        purpose="Bus to the session",
        planned_for=timezone.localdate() + timedelta(days=7),
        amount="30.00",
    )


def advance_receipt(records) -> AdvanceReceipt:
    a = advance(records)
    existing = a.receipts.first()
    if existing is not None:
        return existing
    return advance_receipt_add(
        advance=a, by=records["consultant"].user, amount="12.00", upload=plain_jpeg()
    )


def claim_file(records) -> ClaimFile:
    existing = ClaimFile.objects.filter(
        claim__contribution__engagement=records["engagement"]
    ).first()
    if existing is not None:
        return existing
    claim = claim_create(
        engagement=records["engagement"],
        by=records["consultant"].user,
        category="meals",
        date=timezone.localdate(),
        amount="9.75",
        files=[plain_jpeg()],
    )
    return claim.files.get()
