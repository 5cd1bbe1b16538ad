"""The batch builder honours the consultants' pay plans (``payments.services.batches``).

Entries a deferral holds past the batch's month are left out; a split lets the month
take at most its share (what was already put in a payment this month counts). Each
payment with work left out carries a flag for finance, in ``Payment.alert``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Sum
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.money import format_money, sum_money
from core.sql import in_ids
from income.models import PayPlan, PayPlanEntry, PayPlanEvent
from income.plans import allowed_now
from income.schedule import add_months, month_start

if TYPE_CHECKING:
    from engagements.models import Contribution


def active_plan_entries(contribution_ids: Iterable[int]) -> dict[int, PayPlan]:
    """The live (not cancelled) plan covering each of these contributions, in one query."""
    rows = (
        PayPlanEntry.objects.filter(in_ids("contribution_id", contribution_ids))
        .exclude(plan__events__kind=PayPlanEvent.Kind.CANCELLED)
        .select_related("plan")
    )
    return {row.contribution_id: row.plan for row in rows}


def _already_this_month(plan_ids: list[int], month: date) -> dict[int, Decimal]:
    """What each split plan's entries put in payments built this month (one query)."""
    from payments.models import PaymentItem

    if not plan_ids:
        return {}
    covered = PayPlanEntry.objects.filter(plan_id__in=plan_ids)
    by_contribution = dict(
        PaymentItem.objects.filter(
            live=True,
            contribution_id__in=covered.values("contribution_id"),
            payment__batch__created_at__date__gte=month,
            payment__batch__created_at__date__lt=add_months(month, 1),
        )
        .values("contribution_id")
        .order_by()
        .annotate(total=Sum("amount"))
        .values_list("contribution_id", "total")
    )
    totals: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for plan_id, contribution_id in covered.values_list("plan_id", "contribution_id"):
        if contribution_id in by_contribution:
            totals[plan_id] += by_contribution[contribution_id]
    return totals


def honour_plans(by_consultant: dict[int, list[Contribution]], *, today: date) -> dict[int, str]:
    """Take out of ``by_consultant`` (in place) the entries plans keep for later months;
    answer each affected consultant's flag. Constant queries: three (the split plans are
    locked), or one with no split.

    A consultant whose every positive entry waits has their deductions wait too."""
    ids = [c.pk for items in by_consultant.values() for c in items]
    plans = active_plan_entries(ids)
    if not plans:
        return {}
    month = month_start(today)
    split_ids = sorted({p.pk for p in plans.values() if p.kind == PayPlan.Kind.SPLIT})
    if split_ids:
        # Two batches built at once (other study or phase filters) would each read what
        # was paid this month before the other's payments exist, and each pay up to the
        # limit: the plans are locked, in one order, before that is read.
        list(PayPlan.objects.select_for_update().filter(pk__in=split_ids).order_by("pk"))
    already = _already_this_month(split_ids, month)
    flags: dict[int, str] = {}
    for consultant_id in list(by_consultant):
        items = by_consultant[consultant_id]
        grouped: dict[int, list[Contribution]] = defaultdict(list)
        for c in items:
            if c.pk in plans:
                grouped[plans[c.pk].pk].append(c)
        if not grouped:
            continue
        left_out: list[tuple[PayPlan, list[Contribution]]] = []
        keep_out: set[int] = set()
        for entries in grouped.values():
            plan = plans[entries[0].pk]
            allowed = allowed_now(
                kind=plan.kind,
                start_month=plan.start_month,
                months=plan.months,
                month_limit=plan.month_limit,
                month=month,
                already_this_month=already.get(plan.pk, Decimal("0.00")),
                amounts=[(c.pk, c.amount or Decimal("0.00")) for c in entries],
            )
            waiting = [c for c in entries if c.pk not in allowed]
            if waiting:
                left_out.append((plan, waiting))
                keep_out.update(c.pk for c in waiting)
        if not keep_out:
            continue
        rest = [c for c in items if c.pk not in keep_out]
        if rest and all((c.amount or Decimal("0.00")) <= 0 for c in rest):
            # Only deductions would be left: paying them now, with every positive entry
            # held for later, takes money from this month; they wait with the rest.
            rest = []
        if rest:
            by_consultant[consultant_id] = rest
        else:
            del by_consultant[consultant_id]
        flags[consultant_id] = "\n".join(_flag(plan, waiting) for plan, waiting in left_out)
    return flags


def _flag(plan: PayPlan, waiting: list[Contribution]) -> str:
    count = len(waiting)
    amount = format_money(sum_money(c.amount for c in waiting))
    entries = ngettext("%(count)s entry", "%(count)s entries", count) % {"count": count}
    if plan.kind == PayPlan.Kind.DEFER:
        until = formats.date_format(plan.start_month, "YEAR_MONTH_FORMAT")
        return _(
            "Part deferred at the consultant's request until %(month)s: %(entries)s, %(amount)s."
        ) % {"month": until, "entries": entries, "amount": amount}
    return _(
        "Part left for later months at the consultant's request (paid over %(months)s months, "
        "at most %(limit)s a month): %(entries)s, %(amount)s."
    ) % {
        "months": plan.months,
        "limit": format_money(plan.month_limit),
        "entries": entries,
        "amount": amount,
    }
