"""Reads the income pages, the API and the letter share: a consultant's money by month.

Paid is income only (payments paid, by their paid day; reimbursements kept apart,
never counted as income). Scheduled is approved work not paid yet (unbatched, or in a
payment that is pending or held), in the month it is scheduled: a plan's month when
the consultant asked for one, else ``income.schedule.scheduled_on`` (never before the
current month).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

from consultants.models import CapPeriod, Consultant
from engagements.models import Contribution
from income.models import PayPlan, PayPlanEntry, PayPlanEvent
from income.plans import entry_months
from income.schedule import add_months, month_start, scheduled_on
from payments.models import Payment, PaymentItem
from payments.preflight import open_items_filter

ZERO = Decimal("0.00")
REIMBURSEMENT = Contribution.Kind.REIMBURSEMENT


@dataclass
class Figures:
    period: date  # a month's first day, or a year's 1 January
    paid: Decimal = ZERO
    scheduled: Decimal = ZERO
    reimbursements: Decimal = ZERO
    room: Decimal | None = None  # what is left under the consultant's own limit

    @property
    def total(self) -> Decimal:
        return self.paid + self.scheduled

    @property
    def over(self) -> bool:
        return self.room is not None and self.room < 0


@dataclass
class Income:
    paid: dict[date, Decimal]
    reimbursements: dict[date, Decimal]
    scheduled: dict[date, Decimal]

    def years(self, today: date) -> list[int]:
        """Years with any figure, and the current one, newest first."""
        found = {m.year for m in (*self.paid, *self.reimbursements, *self.scheduled)}
        found.add(today.year)
        return sorted(found, reverse=True)


def paid_rows(
    consultant: Consultant, *, since: date | None = None, until: date | None = None
) -> Iterator[tuple[date, bool, Decimal]]:
    """(paid day, is reimbursement, amount) of every live item of a paid payment."""
    items = PaymentItem.objects.filter(
        live=True, payment__consultant=consultant, payment__status=Payment.Status.PAID
    )
    for paid_at, kind, amount in items.values_list(
        "payment__paid_at", "contribution__kind", "amount"
    ).order_by():
        day = timezone.localdate(paid_at)
        if (since is None or day >= since) and (until is None or day < until):
            yield day, kind == REIMBURSEMENT, amount


def plans_of(consultant: Consultant) -> QuerySet[PayPlan]:
    return (
        PayPlan.objects.filter(consultant=consultant)
        .annotate(
            cancelled=Exists(
                PayPlanEvent.objects.filter(plan=OuterRef("pk"), kind=PayPlanEvent.Kind.CANCELLED)
            )
        )
        .order_by("-created_at", "-id")
    )


def unpaid_work(consultant: Consultant) -> list[Contribution]:
    """Approved income work not paid yet: not in a live payment, or in a pending or held one."""
    mine = Contribution.objects.filter(engagement__consultant=consultant).exclude(
        kind=REIMBURSEMENT
    )
    in_waiting_payment = PaymentItem.objects.filter(
        live=True, payment__status__in=[Payment.Status.PENDING, Payment.Status.HELD]
    ).values("contribution_id")
    found = {c.pk: c for c in mine.filter(open_items_filter())}
    found.update({c.pk: c for c in mine.filter(pk__in=in_waiting_payment)})
    return sorted(found.values(), key=lambda c: (c.date, c.pk))


def planned_months(consultant: Consultant, work: Iterable[Contribution]) -> dict[int, date]:
    """The month each planned entry is asked for (live plans only)."""
    work = list(work)
    amounts = {c.pk: c.amount or ZERO for c in work}
    rows = (
        PayPlanEntry.objects.filter(plan__consultant=consultant, contribution_id__in=list(amounts))
        .exclude(plan__events__kind=PayPlanEvent.Kind.CANCELLED)
        .select_related("plan")
        .order_by("contribution__date", "contribution_id")
    )
    by_plan: dict[int, list[PayPlanEntry]] = defaultdict(list)
    for row in rows:
        by_plan[row.plan_id].append(row)
    months: dict[int, date] = {}
    for entries in by_plan.values():
        plan = entries[0].plan
        months.update(
            entry_months(
                kind=plan.kind,
                start_month=plan.start_month,
                months=plan.months,
                month_limit=plan.month_limit,
                amounts=[(e.contribution_id, amounts[e.contribution_id]) for e in entries],
            )
        )
    return months


def income_of(consultant: Consultant, *, today: date | None = None) -> Income:
    today = today or timezone.localdate()
    this_month = month_start(today)
    paid: dict[date, Decimal] = defaultdict(lambda: ZERO)
    reimbursed: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, is_reimbursement, amount in paid_rows(consultant):
        (reimbursed if is_reimbursement else paid)[month_start(day)] += amount
    work = unpaid_work(consultant)
    planned = planned_months(consultant, work)
    scheduled: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for c in work:
        month = planned.get(c.pk) or month_start(scheduled_on(c))
        scheduled[max(month, this_month)] += c.amount or ZERO
    return Income(dict(paid), dict(reimbursed), dict(scheduled))


def _room(consultant: Consultant, period: str, figures: Figures) -> Decimal | None:
    cap = consultant.benefits_cap_amount
    if cap is None or consultant.benefits_cap_period != period:
        return None
    return cap - figures.total


def monthly(consultant: Consultant, income: Income, months: Iterable[date]) -> list[Figures]:
    rows = []
    for month in months:
        f = Figures(
            period=month,
            paid=income.paid.get(month, ZERO),
            scheduled=income.scheduled.get(month, ZERO),
            reimbursements=income.reimbursements.get(month, ZERO),
        )
        f.room = _room(consultant, CapPeriod.MONTHLY, f)
        rows.append(f)
    return rows


def yearly(consultant: Consultant, income: Income, years: Iterable[int]) -> list[Figures]:
    rows = []
    for year in years:
        f = Figures(period=date(year, 1, 1))
        for source, attr in (
            (income.paid, "paid"),
            (income.scheduled, "scheduled"),
            (income.reimbursements, "reimbursements"),
        ):
            setattr(f, attr, sum((v for m, v in source.items() if m.year == year), ZERO))
        f.room = _room(consultant, CapPeriod.YEARLY, f)
        rows.append(f)
    return rows


def last_months(today: date, count: int = 12, ahead: int = 0) -> list[date]:
    """The ``count`` months up to this one (oldest first), and ``ahead`` months after it."""
    start = add_months(month_start(today), -(count - 1))
    return [add_months(start, n) for n in range(count + ahead)]


def months_ahead_with_work(income: Income, today: date) -> int:
    later = [m for m in income.scheduled if m > month_start(today)]
    if not later:
        return 0
    last = max(later)
    return (last.year - today.year) * 12 + (last.month - today.month)


def letter_months(consultant: Consultant, *, first: date, last: date) -> list[dict]:
    """Paid income and reimbursements for each month from ``first`` to ``last`` (inclusive),
    as Decimal strings: what an income letter states."""
    until = add_months(last, 1)
    months = []
    month = first
    while month < until:
        months.append(month)
        month = add_months(month, 1)
    income: dict[date, Decimal] = defaultdict(lambda: ZERO)
    reimbursed: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, is_reimbursement, amount in paid_rows(consultant, since=first, until=until):
        (reimbursed if is_reimbursement else income)[month_start(day)] += amount
    return [
        {
            "month": m.strftime("%Y-%m"),
            "income": str(income[m]),
            "reimbursements": str(reimbursed[m]),
        }
        for m in months
    ]


def letter_verify(code: str) -> dict | None:
    """What the public may know about an income letter: issuer, period, monthly income
    totals and issue date; never who it is for."""
    from income.documents import letter_rows
    from income.models import IncomeLetter

    code = (code or "").strip().upper()
    if (
        not code
        or len(code) > 16
        or any(ch not in "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" for ch in code)
    ):
        return None
    letter = IncomeLetter.objects.filter(verification_code=code).first()
    if letter is None:
        return None
    return {
        "number": letter.number,
        "issuer": letter.organization_name,
        "period_start": letter.period_start,
        "period_end": letter.period_end,
        "rows": letter_rows(letter),
        "income_total": letter.income_total,
        "reimbursements_total": letter.reimbursements_total,
        "currency": letter.currency,
        "issued_on": timezone.localdate(letter.issued_at),
    }


def letters_of(consultant: Consultant) -> QuerySet:
    from income.models import IncomeLetter

    return IncomeLetter.objects.filter(consultant=consultant)


def active_plans_of(consultant: Consultant) -> list[dict]:
    """The consultant's live plans with work still waiting, for finance to see: each plan,
    how many entries wait and their amount (two queries)."""
    plans = [p for p in plans_of(consultant) if not getattr(p, "cancelled", False)]
    if not plans:
        return []
    batched = PaymentItem.objects.filter(live=True).values("contribution_id")
    waiting: dict[int, list[Decimal]] = defaultdict(list)
    for plan_id, amount in (
        PayPlanEntry.objects.filter(plan__in=plans)
        .exclude(contribution_id__in=batched)
        .values_list("plan_id", "contribution__amount")
    ):
        waiting[plan_id].append(amount or ZERO)
    return [
        {"plan": p, "entries": len(waiting[p.pk]), "amount": sum(waiting[p.pk], ZERO)}
        for p in plans
        if waiting[p.pk]
    ]


def pay_plans_visible_to(user: User | AnonymousUser) -> QuerySet[PayPlan]:
    """A consultant sees their own plans; finance and admins read every plan. Coordinators
    do not: a split's ``month_limit`` is close to a benefits ceiling, which staff never see
    (``STAFF_HIDDEN_FIELDS``)."""
    from accounts.roles import ADMIN, FINANCE

    base = PayPlan.objects.annotate(
        cancelled=Exists(
            PayPlanEvent.objects.filter(plan=OuterRef("pk"), kind=PayPlanEvent.Kind.CANCELLED)
        )
    ).select_related("consultant")
    if not user.is_authenticated:
        return base.none()
    if user.has_role(FINANCE, ADMIN) or user.is_superuser:
        return base
    if getattr(user, "consultant", None) is not None:
        return base.filter(consultant__user=user)
    return base.none()
