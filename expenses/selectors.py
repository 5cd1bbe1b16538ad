"""Reads of claims and advances; visibility follows the contributions they pay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from core.money import sum_money
from engagements.models import Study
from engagements.selectors import contributions_visible_to
from expenses.models import Advance, AdvanceReceipt, Claim, ClaimFile

if TYPE_CHECKING:
    from decimal import Decimal

    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def claims_visible_to(user: User | AnonymousUser) -> QuerySet[Claim]:
    return Claim.objects.filter(contribution__in=contributions_visible_to(user)).select_related(
        "contribution__engagement__phase__study"
    )


def claim_files_visible_to(user: User | AnonymousUser) -> QuerySet[ClaimFile]:
    return ClaimFile.objects.filter(claim__in=claims_visible_to(user)).select_related(
        "claim__contribution"
    )


def advances_visible_to(user: User | AnonymousUser) -> QuerySet[Advance]:
    return Advance.objects.filter(contribution__in=contributions_visible_to(user)).select_related(
        "engagement__consultant", "engagement__phase__study", "contribution", "granted_by"
    )


def advance_receipts_visible_to(user: User | AnonymousUser) -> QuerySet[AdvanceReceipt]:
    return AdvanceReceipt.objects.filter(advance__in=advances_visible_to(user)).select_related(
        "advance"
    )


def advances_of_study(user: User | AnonymousUser, study: Study) -> QuerySet[Advance]:
    return advances_visible_to(user).filter(engagement__phase__study=study)


def spent_on(advance: Advance) -> Decimal:
    """What the receipts of ``advance`` add up to."""
    return sum_money(r.amount for r in advance.receipts.all())
