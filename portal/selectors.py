"""Reads the consultant's own portal makes: one consultant's entries, their worth, their limit.

Everything here is scoped to the one consultant it is given; the portal's views
pass ``request.consultant``. Reads that other pages share (``consultant_summary``)
stay in ``engagements.selectors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, QuerySet

from core.money import round_money
from engagements.models import Contribution, Dispute, Engagement, Phase, Rate
from engagements.rates import RATE_KIND_FOR
from engagements.selectors import ConsultantSummary, estimated_rate

if TYPE_CHECKING:
    from collections.abc import Iterable

    from consultants.models import Consultant
    from payments.models import StripeAccount


def contributions_of(consultant: Consultant) -> QuerySet[Contribution]:
    """Every entry on ``consultant``'s own engagements, adjustments included, newest first.

    Each row knows whether it has an open dispute (``has_open_dispute``).
    """
    open_dispute = Dispute.objects.filter(contribution=OuterRef("pk"), status=Dispute.Status.OPEN)
    return (
        Contribution.objects.filter(engagement__consultant=consultant)
        .select_related("engagement__phase__study", "adjusts")
        .annotate(has_open_dispute=Exists(open_dispute))
        .order_by("-date", "-id")
    )


def active_engagements_of(consultant: Consultant) -> QuerySet[Engagement]:
    """The engagements ``consultant`` may log their own hours on."""
    return (
        Engagement.objects.filter(consultant=consultant, status=Engagement.Status.ACTIVE)
        .select_related("phase__study")
        .order_by("phase__study__name", "phase__position", "role")
    )


def phases_of(consultant: Consultant) -> QuerySet[Phase]:
    """The phases ``consultant`` has an engagement in, in study order."""
    return (
        Phase.objects.filter(engagements__consultant=consultant)
        .select_related("study")
        .distinct()
        .order_by("study__name", "position", "id")
    )


@dataclass
class EntryValue:
    """What an entry is worth: frozen once approved, else what approval would make it."""

    rate: Decimal | None
    rate_kind: str  # Rate.Kind value, or "" for a reimbursement
    amount: Decimal | None
    estimated: bool


def entry_values(contributions: Iterable[Contribution]) -> dict[int, EntryValue]:
    """Rate and amount for each entry, by primary key, in at most one query.

    Approved and paid entries show their frozen rate and amount. Drafts and
    entries waiting for approval show an estimate at the rates in force on the
    day of the work; returned entries show none. Needs ``adjusts`` loaded.
    """
    S, K = Contribution.Status, Contribution.Kind
    open_ = [c for c in contributions if c.amount is None and c.status in (S.DRAFT, S.SUBMITTED)]
    open_ids = {c.pk for c in open_}
    card_ids = {c.engagement.rate_card_id for c in open_ if c.kind != K.REIMBURSEMENT}
    rates: dict[int, list[Rate]] = {}
    if card_ids:
        for rate in Rate.objects.filter(rate_card_id__in=card_ids):
            rates.setdefault(rate.rate_card_id, []).append(rate)
    values = {}
    for c in contributions:
        rate_kind = RATE_KIND_FOR.get(c.kind, "")
        if c.amount is not None:
            values[c.pk] = EntryValue(c.rate, rate_kind, c.amount, estimated=False)
        elif c.pk not in open_ids:
            values[c.pk] = EntryValue(None, rate_kind, None, estimated=False)
        elif c.kind == K.REIMBURSEMENT:
            values[c.pk] = EntryValue(None, "", c.claimed_amount, estimated=True)
        elif c.adjusts_id:
            assert c.adjusts is not None  # adjusts_id is set, so the entry it adjusts exists
            frozen = c.adjusts.rate
            amount = round_money(c.quantity * frozen) if frozen is not None else None
            values[c.pk] = EntryValue(frozen, rate_kind, amount, estimated=True)
        else:
            estimate = estimated_rate(c, rates)
            values[c.pk] = EntryValue(
                estimate.amount if estimate else None,
                rate_kind,
                round_money(c.quantity * estimate.amount) if estimate else None,
                estimated=True,
            )
    return values


@dataclass
class CapStatus:
    """How close work dated this month or year comes to the consultant's own limit."""

    amount: Decimal
    period: str  # CapPeriod value
    earned: Decimal  # approved (paid or not) in the period
    pending: Decimal  # waiting for approval in the period
    total: Decimal
    remaining: Decimal  # negative when the total is above the limit
    percent: int  # of the limit, capped at 100 for drawing

    @property
    def over(self) -> bool:
        return self.remaining < 0

    @property
    def over_by(self) -> Decimal:
        return -self.remaining


def benefits_cap_status(consultant: Consultant, summary: ConsultantSummary) -> CapStatus | None:
    """The consultant's self-declared limit against this month's or this year's totals."""
    if consultant.benefits_cap_amount is None or not consultant.benefits_cap_period:
        return None
    totals = summary.month if consultant.benefits_cap_period == "monthly" else summary.year
    total = totals.earned + totals.pending
    cap = consultant.benefits_cap_amount
    return CapStatus(
        amount=cap,
        period=consultant.benefits_cap_period,
        earned=totals.earned,
        pending=totals.pending,
        total=total,
        remaining=cap - total,
        percent=min(100, int(total * 100 / cap)) if cap > 0 else 100,
    )


def disputes_on(contribution: Contribution) -> QuerySet[Dispute]:
    """Every dispute about one entry, oldest first, with who raised and resolved it."""
    return Dispute.objects.filter(contribution=contribution).select_related(
        "raised_by", "resolved_by"
    )


class DepositState:
    """Where a consultant's direct-deposit set-up stands, from what Stripe's webhooks said."""

    NOT_STARTED = "not_started"  # no Stripe account yet
    STARTED = "started"  # an account, but Stripe's form is not finished
    CHECKING = "checking"  # details given; Stripe is verifying them
    NEEDS_ATTENTION = "needs_attention"  # details given, but Stripe asks for more
    READY = "ready"  # Stripe can pay this account
    # The step of the indicator each state is on (1-based), of STEPS.
    STEP = {NOT_STARTED: 1, STARTED: 2, NEEDS_ATTENTION: 2, CHECKING: 3, READY: 4}


def deposit_state(account: StripeAccount | None) -> str:
    """The state of ``account`` (a StripeAccount or None), as the consultant reads it.

    Only the stored, webhook-driven fields decide it: the page after Stripe's return
    and a reload of it always say the same thing.
    """
    if account is None:
        return DepositState.NOT_STARTED
    if account.ready:
        return DepositState.READY
    if not account.details_submitted:
        return DepositState.STARTED
    if account.requirements_due:
        return DepositState.NEEDS_ATTENTION
    return DepositState.CHECKING
