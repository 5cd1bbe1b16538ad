"""The database itself refuses what must never be stored, whatever the code does."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from engagements.models import Contribution, Rate
from tests.factories import ContributionFactory, RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(**fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContributionFactory(**fields)


def test_quantities_are_positive_and_in_quarter_hours():
    refused(quantity=Decimal("0"))
    refused(quantity=Decimal("-1"))
    refused(quantity=Decimal("1.10"))
    ContributionFactory(quantity=Decimal("1.75"))


def test_honoraria_are_whole_and_reimbursements_have_an_amount():
    refused(kind="honorarium", quantity=Decimal("1.5"))
    refused(kind="reimbursement", quantity=Decimal("1"))
    refused(kind="reimbursement", quantity=Decimal("1"), claimed_amount=Decimal("-3"))
    refused(kind="hours", claimed_amount=Decimal("3"))
    ContributionFactory(kind="reimbursement", quantity=Decimal("1"), claimed_amount=Decimal("3.50"))


def test_approved_rows_are_frozen_and_not_approved_by_their_logger():
    user = UserFactory()
    now = timezone.now()
    refused(status="approved")
    refused(
        status="approved", amount=Decimal("10"), approved_by=user, approved_at=now, logged_by=user
    )
    ContributionFactory(
        status="approved",
        amount=Decimal("10"),
        approved_by=user,
        approved_at=now,
    )


def test_amounts_are_positive_except_for_adjustments():
    refused(amount=Decimal("-1"))
    original = ContributionFactory()
    ContributionFactory(
        adjusts=original, quantity=Decimal("-0.5"), amount=Decimal("-30"), reason="fix"
    )
    refused(adjusts=original, quantity=Decimal("-0.5"), reason="")


def test_rejection_needs_a_reason():
    refused(status="rejected", rejected_reason="")


def test_rates_respect_floor_and_one_per_activity_and_date():
    card = RateCardFactory(default_rates=False)
    Rate.objects.create(
        rate_card=card,
        kind="hourly",
        amount=Decimal("60"),
        floor=Decimal("57"),
        effective_from=date(2026, 1, 1),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Rate.objects.create(
            rate_card=card,
            kind="hourly",
            amount=Decimal("65"),
            floor=Decimal("57"),
            effective_from=date(2026, 1, 1),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Rate.objects.create(
            rate_card=card,
            kind="hourly",
            amount=Decimal("50"),
            floor=Decimal("57"),
            effective_from=date(2026, 2, 1),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Rate.objects.create(
            rate_card=card,
            kind="flat",
            amount=Decimal("0"),
            floor=Decimal("0"),
            effective_from=date(2026, 2, 1),
        )
    # Another activity on the same date is a different rate.
    Rate.objects.create(
        rate_card=card,
        kind="hourly",
        activity="training",
        amount=Decimal("58"),
        floor=Decimal("57"),
        effective_from=date(2026, 1, 1),
    )
    assert Contribution.objects.count() == 0
