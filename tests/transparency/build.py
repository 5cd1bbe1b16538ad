"""Paid work written straight to the tables, fast enough for generated studies.

The figures read payments, items and contributions as the payment services leave
them (paid payment, live items, contributions paid with their approval); the
services themselves are tested in tests/payments. One batch per payment.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from consultants.models import Consultant
from engagements.models import Contribution, Engagement, Phase, RateCard, Study
from payments.models import Payment, PaymentItem, PayoutBatch


def study_with_phases(name: str, phases: int, *, floor: str = "57.00") -> Study:
    study = Study.objects.create(name=name, hourly_rate_floor=Decimal(floor))
    for i in range(phases):
        Phase.objects.create(study=study, name=f"Fase {i + 1}", position=i + 1)
    RateCard.objects.create(study=study, name="Tarjeta")
    return study


def consultants(n: int, *, prefix: str = "Seudónimo") -> list[Consultant]:
    return [
        Consultant.objects.create(display_name=f"{prefix} {i}", email=f"c{i}-{prefix}@example.net")
        for i in range(n)
    ]


def engagement(consultant: Consultant, phase: Phase) -> Engagement:
    found = Engagement.objects.filter(consultant=consultant, phase=phase).first()
    return found or Engagement.objects.create(
        consultant=consultant, phase=phase, role="Asesoría", rate_card=phase.study.rate_cards.get()
    )


def pay(
    *,
    consultant: Consultant,
    lines: list[dict],
    method: str,
    paid_at: dt.datetime,
    logger,
    approver,
    status: str = Payment.Status.PAID,
) -> Payment:
    """One payment of ``lines`` (phase, kind, activity, quantity, amount, approved_at)."""
    batch = PayoutBatch.objects.create(cutoff_date=paid_at.date(), created_by=logger)
    total = sum((line["amount"] for line in lines), Decimal(0))
    payment = Payment.objects.create(
        batch=batch,
        consultant=consultant,
        method=method,
        rail="stripe" if method == "stripe" else "manual",
        amount=total,
        status=status,
        paid_at=paid_at if status == Payment.Status.PAID else None,
    )
    for line in lines:
        kind = line.get("kind", Contribution.Kind.HOURS)
        contribution = Contribution.objects.create(
            engagement=engagement(consultant, line["phase"]),
            kind=kind,
            activity=line.get("activity", "work"),
            date=line["approved_at"].date(),
            quantity=line.get("quantity", Decimal("1")),
            claimed_amount=line["amount"] if kind == Contribution.Kind.REIMBURSEMENT else None,
            status=Contribution.Status.PAID,
            amount=line["amount"],
            logged_by=logger,
            approved_by=approver,
            approved_at=line["approved_at"],
        )
        PaymentItem.objects.create(
            payment=payment, contribution=contribution, amount=line["amount"]
        )
    return payment


def at(year: int, month: int, day: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, 12, 0))
