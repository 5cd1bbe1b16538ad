"""Bench data: consultants paid by Stripe, onboarded in the sandbox, each with approved work.

Bulk inserts (benches seed thousands); Django must be set up first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

CUTOFF = date(2026, 3, 31)


@dataclass
class Seeded:
    finance: object
    finance2: object
    coordinator: object
    consultants: int


def seed_payees(
    sandbox,
    n: int,
    *,
    password: str = "bench-password-not-used",
    totp_secrets: tuple[str, str] | None = None,
) -> Seeded:
    """Two finance people (TOTP-enrolled with ``totp_secrets``), a coordinator, and ``n``
    consultants with an onboarded sandbox account and one approved honorarium each."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.models import User
    from consultants.models import Consultant, PayoutMethod, TaxForm
    from demo.accounts import enroll_totp
    from engagements.models import Contribution, Engagement, Phase, Rate, RateCard, Study
    from engagements.paydates import promised_pay_date
    from payments.models import StripeAccount

    def user(email, role):
        u = User.objects.create_user(email=email, password=password, name=email.split("@")[0])
        u.groups.set(Group.objects.filter(name=role))
        u.is_staff = True
        u.save()
        return u

    finance, finance2 = user("f1@bench.invalid", "finance"), user("f2@bench.invalid", "finance")
    coordinator = user("c@bench.invalid", "coordinator")
    if totp_secrets:
        enroll_totp(finance, totp_secrets[0])
        enroll_totp(finance2, totp_secrets[1])
    study = Study.objects.create(name="Bench study", hourly_rate_floor=Decimal("57.00"))
    phase = Phase.objects.create(study=study, name="Design", position=1)
    card = RateCard.objects.create(study=study, name="Card")
    Rate.objects.create(
        rate_card=card,
        kind=Rate.Kind.FLAT,
        amount=Decimal("150.00"),
        floor=Decimal("0"),
        effective_from=date(2020, 1, 1),
    )
    consultants = Consultant.objects.bulk_create(
        [Consultant(display_name=f"Bench {i}", payout_method=PayoutMethod.STRIPE) for i in range(n)]
    )
    TaxForm.objects.bulk_create(
        [
            TaxForm(consultant=c, status=TaxForm.Status.RECEIVED, received_on=date(2026, 1, 2))
            for c in consultants
        ]
    )
    StripeAccount.objects.bulk_create(
        [
            StripeAccount(
                consultant=c,
                account_id=sandbox.create_account(onboarded=True)["id"],
                payouts_enabled=True,
                transfers_active=True,
                details_submitted=True,
            )
            for c in consultants
        ]
    )
    engagements = Engagement.objects.bulk_create(
        [Engagement(consultant=c, phase=phase, role="Advisor", rate_card=card) for c in consultants]
    )
    # Accepted agreements, or every payment would wait for one (payments.preflight).
    from agreements.bulk import accepted_first_versions

    accepted_first_versions(engagements, by=coordinator)
    now = timezone.now()
    Contribution.objects.bulk_create(
        [
            Contribution(
                engagement=e,
                kind=Contribution.Kind.HONORARIUM,
                activity="work",
                date=date(2026, 3, 12),
                quantity=Decimal("1"),
                rate=Decimal("150.00"),
                amount=Decimal("100.00") + Decimal(i % 100) / 100,
                status=Contribution.Status.APPROVED,
                logged_by=coordinator,
                approved_by=finance2,
                approved_at=now,
                promised_pay_date=promised_pay_date(
                    study=study, approved_on=timezone.localdate(now)
                ),
            )
            for i, e in enumerate(engagements)
        ]
    )
    return Seeded(finance=finance, finance2=finance2, coordinator=coordinator, consultants=n)
