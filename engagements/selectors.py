"""Reads about studies and contributions that pages and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from engagements.models import Contribution, Engagement, Rate
from engagements.rates import RATE_KIND_FOR, to_cents


def engagements_visible_to(user) -> QuerySet[Engagement]:
    if not user.is_authenticated:
        return Engagement.objects.none()
    qs = Engagement.objects.select_related("consultant", "phase", "phase__study", "rate_card")
    if user.is_staff_member and user.has_perm("engagements.view_engagement"):
        return qs
    return qs.filter(consultant__user=user)


def contributions_visible_to(user) -> QuerySet[Contribution]:
    if not user.is_authenticated:
        return Contribution.objects.none()
    qs = Contribution.objects.select_related(
        "engagement", "engagement__consultant", "engagement__phase", "logged_by", "approved_by"
    )
    if user.is_staff_member and user.has_perm("engagements.view_contribution"):
        return qs
    return qs.filter(engagement__consultant__user=user)


# --- money totals for one consultant -----------------------------------------------

ZERO = Decimal("0.00")
BUCKETS = ("earned", "pending", "paid", "owed")


@dataclass
class Totals:
    earned: Decimal = ZERO  # approved work, paid or not
    pending: Decimal = ZERO  # waiting for approval (estimated at today's rates)
    paid: Decimal = ZERO
    owed: Decimal = ZERO  # approved, not paid yet
    hours: Decimal = ZERO

    def add(self, status: str, amount: Decimal, hours: Decimal) -> None:
        S = Contribution.Status
        if status in (S.APPROVED, S.PAID):
            self.earned += amount
            self.hours += hours
        if status == S.PAID:
            self.paid += amount
        if status == S.APPROVED:
            self.owed += amount
        if status == S.SUBMITTED:
            self.pending += amount


@dataclass
class ConsultantSummary:
    month: Totals
    year: Totals
    all_time: Totals
    by_phase: list[tuple[str, Totals]]
    by_month: list[tuple[date, Totals]]  # the last twelve months, oldest first


def _estimate(c: Contribution, rates: dict) -> Decimal:
    """What a submitted entry will be worth if approved as it stands."""
    if c.kind == Contribution.Kind.REIMBURSEMENT:
        return c.claimed_amount or ZERO
    if c.adjusts_id:
        return to_cents(c.quantity * (c.adjusts.rate or ZERO))
    kind = RATE_KIND_FOR[c.kind]
    best = None
    for rate in rates.get(c.engagement.rate_card_id, ()):
        if (
            rate.kind != kind
            or rate.effective_from > c.date
            or rate.activity not in ("", c.activity)
        ):
            continue
        key = (rate.activity == c.activity, rate.effective_from)
        if best is None or key > best[0]:
            best = (key, rate)
    return to_cents(c.quantity * best[1].amount) if best else ZERO


def consultant_summary(consultant, *, today: date | None = None) -> ConsultantSummary:
    """Earned, pending, paid and owed for this month, this year, all time, by phase and month.

    Runs three queries whatever the number of contributions.
    """
    today = today or timezone.localdate()
    rows = list(
        Contribution.objects.filter(engagement__consultant=consultant)
        .exclude(status__in=[Contribution.Status.DRAFT, Contribution.Status.REJECTED])
        .select_related("engagement__phase", "adjusts")
        .only(
            "status",
            "kind",
            "activity",
            "date",
            "quantity",
            "claimed_amount",
            "amount",
            "adjusts__rate",
            "engagement__rate_card_id",
            "engagement__phase__name",
            "engagement__phase__position",
        )
    )
    card_ids = {
        c.engagement.rate_card_id for c in rows if c.status == Contribution.Status.SUBMITTED
    }
    rates: dict[int, list[Rate]] = {}
    for rate in Rate.objects.filter(rate_card_id__in=card_ids):
        rates.setdefault(rate.rate_card_id, []).append(rate)

    month, year, all_time = Totals(), Totals(), Totals()
    phases: dict[tuple[int, str], Totals] = {}
    first_month = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    months: dict[date, Totals] = {}
    cursor = first_month
    while cursor <= today:
        months[cursor] = Totals()
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    for c in rows:
        amount = c.amount if c.amount is not None else _estimate(c, rates)
        hours = c.quantity if c.kind == Contribution.Kind.HOURS else ZERO
        all_time.add(c.status, amount, hours)
        if c.date.year == today.year:
            year.add(c.status, amount, hours)
            if c.date.month == today.month:
                month.add(c.status, amount, hours)
        phase = c.engagement.phase
        phases.setdefault((phase.position, phase.name), Totals()).add(c.status, amount, hours)
        bucket = months.get(c.date.replace(day=1))
        if bucket is not None:
            bucket.add(c.status, amount, hours)
    return ConsultantSummary(
        month=month,
        year=year,
        all_time=all_time,
        by_phase=[(name, totals) for (_pos, name), totals in sorted(phases.items())],
        by_month=list(months.items()),
    )
