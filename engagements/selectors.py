"""Reads about studies and contributions that pages and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from consultants.models import Consultant
from consultants.selectors import consultants_visible_to
from core.fields import HonoraKeysMixin
from core.money import round_money
from engagements.models import Contribution, Dispute, Engagement, Phase, Rate, Study
from engagements.rates import RATE_KIND_FOR, pick_rate

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def engagements_visible_to(user: User | AnonymousUser) -> QuerySet[Engagement]:
    if not user.is_authenticated:
        return Engagement.objects.none()
    qs = Engagement.objects.select_related("consultant", "phase", "phase__study", "rate_card")
    if user.is_staff_member and user.has_perm("engagements.view_engagement"):
        return qs
    return qs.filter(consultant__user=user)


def contributions_visible_to(user: User | AnonymousUser) -> QuerySet[Contribution]:
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


def estimated_rate(c: Contribution, rates: dict[int, list[Rate]]) -> Rate | None:
    """The rate approval would freeze for ``c`` today, from ``rates`` (card id -> rates)."""
    return pick_rate(
        rates.get(c.engagement.rate_card_id, ()),
        activity=c.activity,
        kind=RATE_KIND_FOR[c.kind],
        on=c.date,
    )


def _estimate(c: Contribution, rates: dict[int, list[Rate]]) -> Decimal:
    """What a submitted entry will be worth if approved as it stands."""
    if c.kind == Contribution.Kind.REIMBURSEMENT:
        return c.claimed_amount or ZERO
    if c.adjusts_id:
        assert c.adjusts is not None  # adjusts_id is set, so the entry it adjusts exists
        return round_money(c.quantity * (c.adjusts.rate or ZERO))
    rate = estimated_rate(c, rates)
    return round_money(c.quantity * rate.amount) if rate else ZERO


def consultant_summary(consultant: Consultant, *, today: date | None = None) -> ConsultantSummary:
    """Earned, pending, paid and owed for this month, this year, all time, by phase and month.

    Frozen amounts (approved and paid) are summed in the database by month, phase and
    status; only entries waiting for approval are read one by one, to estimate them at
    today's rates. Three queries whatever the number of contributions.
    """
    today = today or timezone.localdate()
    S = Contribution.Status
    mine = Contribution.objects.filter(engagement__consultant=consultant).exclude(
        status__in=[S.DRAFT, S.REJECTED]
    )
    # (month, phase position, phase name, status, amount, hours), one tuple per group or
    # per waiting entry.
    parts: list[tuple[date, int, str, str, Decimal, Decimal]] = []
    frozen = (
        mine.filter(amount__isnull=False)
        .values(
            "status",
            "engagement__phase__position",
            "engagement__phase__name",
            month=TruncMonth("date"),
        )
        .annotate(
            total=Coalesce(Sum("amount"), _zero()),
            hours_total=Coalesce(Sum("quantity", filter=Q(kind=Contribution.Kind.HOURS)), _zero()),
        )
        .order_by()
    )
    for row in cast("Iterable[dict[str, Any]]", frozen):
        month = row["month"]
        if isinstance(month, datetime):  # backends without a date type for TruncMonth
            month = month.date()
        parts.append(
            (
                month,
                row["engagement__phase__position"],
                row["engagement__phase__name"],
                row["status"],
                row["total"],
                row["hours_total"],
            )
        )
    waiting = list(
        mine.filter(amount__isnull=True)
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
    card_ids = {c.engagement.rate_card_id for c in waiting}
    rates: dict[int, list[Rate]] = {}
    if card_ids:
        for rate in Rate.objects.filter(rate_card_id__in=card_ids):
            rates.setdefault(rate.rate_card_id, []).append(rate)
    for c in waiting:
        phase = c.engagement.phase
        parts.append(
            (
                c.date.replace(day=1),
                phase.position,
                phase.name,
                c.status,
                _estimate(c, rates),
                c.quantity if c.kind == Contribution.Kind.HOURS else ZERO,
            )
        )

    month, year, all_time = Totals(), Totals(), Totals()
    phases: dict[tuple[int, str], Totals] = {}
    first_month = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    months: dict[date, Totals] = {}
    cursor = first_month
    while cursor <= today:
        months[cursor] = Totals()
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    for first_day, position, phase_name, status, amount, hours in parts:
        all_time.add(status, amount, hours)
        if first_day.year == today.year:
            year.add(status, amount, hours)
            if first_day.month == today.month:
                month.add(status, amount, hours)
        phases.setdefault((position, phase_name), Totals()).add(status, amount, hours)
        bucket = months.get(first_day)
        if bucket is not None:
            bucket.add(status, amount, hours)
    return ConsultantSummary(
        month=month,
        year=year,
        all_time=all_time,
        by_phase=[(name, totals) for (_pos, name), totals in sorted(phases.items())],
        by_month=list(months.items()),
    )


# --- coordinator pages -----------------------------------------------------------
#
# Every read below runs a fixed number of queries whatever the amount of data:
# totals come from database aggregation, lists from one joined query.

STATUS_ORDER = (
    Contribution.Status.DRAFT,
    Contribution.Status.SUBMITTED,
    Contribution.Status.REJECTED,
    Contribution.Status.APPROVED,
    Contribution.Status.PAID,
)
_FROZEN = (Contribution.Status.APPROVED, Contribution.Status.PAID)


def _zero(max_digits: int = 14) -> Value:
    return Value(Decimal("0"), output_field=DecimalField(max_digits=max_digits, decimal_places=2))


def _percent(part: Decimal | None, whole: Decimal | None) -> int | None:
    if not whole or part is None:
        return None
    return int((part * 100 / whole).to_integral_value(rounding=ROUND_HALF_UP))


def with_burn(qs: QuerySet[Engagement]) -> QuerySet[Engagement]:
    """Annotate each engagement with what it has used of its hours cap and budget.

    Hours count as the cap check in the services counts them (every entry but a
    returned one, adjustments included); money counts only approved and paid
    amounts, which are frozen.
    """
    S = Contribution.Status
    return qs.annotate(
        hours_used=Coalesce(
            Sum(
                "contributions__quantity",
                filter=Q(contributions__kind=Contribution.Kind.HOURS)
                & ~Q(contributions__status=S.REJECTED),
            ),
            _zero(),
        ),
        amount_approved=Coalesce(
            Sum("contributions__amount", filter=Q(contributions__status__in=_FROZEN)), _zero()
        ),
        waiting_count=Count("contributions", filter=Q(contributions__status=S.SUBMITTED)),
    )


class _Burn(Protocol):
    """An engagement from ``with_burn`` (annotated) once ``decorate_burn`` has set its marks."""

    hours_cap: Decimal | None
    budget: Decimal | None
    hours_used: Decimal | None
    amount_approved: Decimal | None
    hours_pct: int | None
    budget_pct: int | None
    over: bool


def decorate_burn(engagements: Iterable[Engagement]) -> list[Engagement]:
    """Add ``hours_pct``, ``budget_pct`` and ``over`` to engagements from ``with_burn``."""
    rows = []
    for engagement in engagements:
        e = cast(_Burn, engagement)
        e.hours_pct = _percent(e.hours_used, e.hours_cap)
        e.budget_pct = _percent(e.amount_approved, e.budget)
        e.over = (e.hours_pct or 0) > 100 or (e.budget_pct or 0) > 100
        rows.append(engagement)
    return rows


# The consultant's encrypted contact fields: a list of entries never shows them, and
# decrypting them costs more than the rest of a row (thousands per page at scale).
CONSULTANT_SECRETS = tuple(
    f.name for f in Consultant._meta.concrete_fields if isinstance(f, HonoraKeysMixin)
)


def contribution_rows(
    qs: QuerySet[Contribution], *, approved: bool = True
) -> QuerySet[Contribution]:
    """What a staff list of entries shows: names, study and phase, and open disputes.

    The consultant's encrypted contact fields are left unread (deferred). Who logged the
    entry comes in its own small query (prefetched; every entry has one): with it joined
    too, PostgreSQL spends 10-25 ms planning a query that runs in under 1 ms. A list of
    entries that cannot have an approver yet (``approved=False``: the review queue) does
    not join one either.
    """
    return (
        qs.select_related(None)  # replaces the joins of ``contributions_visible_to``
        .select_related(
            "engagement__consultant",
            "engagement__phase__study",
            "adjusts",
            *(["approved_by"] if approved else []),
        )
        .prefetch_related("logged_by")
        .defer(*(f"engagement__consultant__{name}" for name in CONSULTANT_SECRETS))
        .annotate(
            has_open_dispute=Exists(
                Dispute.objects.filter(contribution=OuterRef("pk"), status=Dispute.Status.OPEN)
            )
        )
    )


def contributions_filtered(
    qs: QuerySet[Contribution],
    *,
    study: Study | None = None,
    phase: Phase | None = None,
    consultant: Consultant | None = None,
    engagement: Engagement | None = None,
    status: str = "",
    kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Contribution]:
    if study is not None:
        qs = qs.filter(engagement__phase__study=study)
    if phase is not None:
        qs = qs.filter(engagement__phase=phase)
    if consultant is not None:
        qs = qs.filter(engagement__consultant=consultant)
    if engagement is not None:
        qs = qs.filter(engagement=engagement)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return qs


def review_queue(user: User | AnonymousUser, **filters: Any) -> QuerySet[Contribution]:
    """Entries waiting for approval, oldest first."""
    qs = contributions_visible_to(user).filter(status=Contribution.Status.SUBMITTED)
    return contribution_rows(contributions_filtered(qs, **filters), approved=False).order_by(
        "submitted_at", "id"
    )


def review_consultant_choices(
    user: User | AnonymousUser, *, also: Consultant | None = None
) -> list[tuple[Any, str]]:
    """(public id, display name) of the consultants with entries waiting for review that
    ``user`` may see, by name, and ``also`` (the one a filter names) whatever they have.

    One query of two columns: the review filter lists these, not every consultant.
    """
    waiting = Contribution.objects.filter(
        engagement__consultant=OuterRef("pk"), status=Contribution.Status.SUBMITTED
    )
    wanted = Q(Exists(waiting))
    if also is not None:
        wanted |= Q(pk=also.pk)
    return list(
        consultants_visible_to(user)
        .filter(wanted)
        .order_by("display_name", "id")
        .values_list("public_id", "display_name")
    )


class _Shown(Protocol):
    """An entry once ``with_estimates`` has set what to show."""

    amount_is_estimate: bool
    shown_amount: Decimal


class _Waiting(Protocol):
    """A dashboard entry once ``study_dashboard`` has set how long it waited."""

    waited_days: int | None
    overdue: bool


def with_estimates(contributions: Iterable[Contribution]) -> list[Contribution]:
    """Give each entry ``shown_amount``: the frozen amount, or what it would be if approved now.

    ``amount_is_estimate`` tells them apart. One query for the rates, whatever the count.
    """
    rows = list(contributions)
    card_ids = {c.engagement.rate_card_id for c in rows if c.amount is None}
    rates: dict[int, list[Rate]] = {}
    if card_ids:
        for rate in Rate.objects.filter(rate_card_id__in=card_ids):
            rates.setdefault(rate.rate_card_id, []).append(rate)
    for c in rows:
        shown = cast(_Shown, c)
        shown.amount_is_estimate = c.amount is None
        shown.shown_amount = c.amount if c.amount is not None else _estimate(c, rates)
    return rows


@dataclass
class Cell:
    count: int = 0
    hours: Decimal = ZERO
    amount: Decimal = ZERO  # frozen amounts only (approved and paid)
    claimed: Decimal = ZERO  # reimbursements asked for, before approval
    label: str = ""  # the status, to label the cell where the table is stacked


@dataclass
class PhaseRow:
    name: str
    cells: list[Cell]  # in STATUS_ORDER

    @property
    def hours(self) -> Decimal:
        return sum((c.hours for c in self.cells), ZERO)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.cells), ZERO)


@dataclass
class StudyDashboard:
    study: Study
    statuses: list[tuple[str, str | Promise]]
    phases: list[PhaseRow]
    totals: PhaseRow
    budget_used: Decimal
    budget_pct: int | None
    engagements: list[Engagement]  # the ``limit`` nearest to (or over) their cap or budget
    engagement_count: int
    over_count: int
    waiting: list[Contribution]
    waiting_count: int
    unpaid: list[Contribution]
    unpaid_count: int
    unpaid_amount: Decimal
    overdue_count: int
    target_days: int
    disputes: list[Dispute]
    dispute_count: int


BURN_ORDER = ("phase__position", "consultant__display_name", "role", "id")


def burn_rows(engagement_ids: Iterable[int]) -> list[Engagement]:
    """These engagements with their burn, in ``BURN_ORDER``, for the burn table.

    Only the columns the table shows are read: no encrypted consultant field is decrypted.
    """
    return decorate_burn(
        with_burn(
            Engagement.objects.filter(pk__in=list(engagement_ids))
            .select_related("consultant", "phase", "rate_card")
            .only(
                "public_id",
                "role",
                "status",
                "hours_cap",
                "budget",
                "consultant__public_id",
                "consultant__display_name",
                "phase__name",
                "phase__position",
                "rate_card__name",
            )
        ).order_by(*BURN_ORDER)
    )


@dataclass
class BurnSummary:
    count: int  # engagements in the study
    over_count: int  # over their hours cap or their budget
    nearest: list[Engagement]  # the ``limit`` that have used the most of their cap or budget


OVER_SHOWN_AT_MOST = 200


def study_burn_summary(study: Study, *, limit: int = 20) -> BurnSummary:
    """How many engagements a study has, how many are over their limits, and the nearest.

    Two queries: the burn of every engagement as plain numbers (aggregated in the
    database), then the table's columns for the ``limit`` shown.
    """
    # Read as plain tuples: the stubs do not see ``with_burn``'s annotations.
    annotated = cast("QuerySet[Any]", with_burn(Engagement.objects.filter(phase__study=study)))
    rows = annotated.order_by(*BURN_ORDER).values_list(
        "pk", "hours_cap", "budget", "hours_used", "amount_approved"
    )
    used: list[tuple[int, int]] = []  # (highest percentage used, pk), in BURN_ORDER
    over_count = 0
    for pk, hours_cap, budget, hours_used, amount_approved in rows:
        percents = (_percent(hours_used, hours_cap), _percent(amount_approved, budget))
        highest = max([-1, *(p for p in percents if p is not None)])
        over_count += highest > 100
        used.append((highest, pk))
    # Every engagement over its limits is listed (up to OVER_SHOWN_AT_MOST, a bound far past
    # a study that is being looked after), then the nearest up to ``limit``.
    shown_count = max(limit, min(over_count, OVER_SHOWN_AT_MOST))
    nearest = sorted(used, key=lambda row: -row[0])[:shown_count]  # stable: ties keep BURN_ORDER
    shown = burn_rows(pk for _pct, pk in nearest)
    order = {pk: i for i, (_pct, pk) in enumerate(nearest)}
    shown.sort(key=lambda e: order[e.pk])
    return BurnSummary(count=len(used), over_count=over_count, nearest=shown)


def pay_overdue_before(now: datetime) -> datetime:
    """Approved work approved before this is overdue for pay (TIME_TO_PAY_TARGET_DAYS)."""
    return now - timedelta(days=settings.TIME_TO_PAY_TARGET_DAYS)


def _dashboard_rows(qs: QuerySet[Contribution]) -> QuerySet[Contribution]:
    """The dashboard's short lists of entries: what they show and the open-dispute flag."""
    return (
        qs.select_related("engagement__consultant")
        .only(
            "public_id",
            "kind",
            "activity",
            "date",
            "quantity",
            "claimed_amount",
            "amount",
            "submitted_at",
            "approved_at",
            "engagement__consultant__public_id",
            "engagement__consultant__display_name",
        )
        .annotate(
            has_open_dispute=Exists(
                Dispute.objects.filter(contribution=OuterRef("pk"), status=Dispute.Status.OPEN)
            )
        )
    )


def study_dashboard(
    study: Study, *, now: datetime | None = None, limit: int = 20
) -> StudyDashboard:
    """Everything the study dashboard shows, in ten queries whatever the data."""
    now = now or timezone.now()
    target_days = settings.TIME_TO_PAY_TARGET_DAYS
    S = Contribution.Status
    in_study = Contribution.objects.filter(engagement__phase__study=study)

    phases = list(Phase.objects.filter(study=study).order_by("position", "id"))
    index = {status: i for i, status in enumerate(STATUS_ORDER)}
    by_phase: dict[int, PhaseRow] = {
        p.pk: PhaseRow(
            name=p.name, cells=[Cell(label=str(status.label)) for status in STATUS_ORDER]
        )
        for p in phases
    }
    totals = PhaseRow(
        name=str(_("All phases")), cells=[Cell(label=str(status.label)) for status in STATUS_ORDER]
    )
    grouped = in_study.values("engagement__phase_id", "status").annotate(
        n=Count("id"),
        # The stubs refuse an annotation named like Contribution's ``hours`` property.
        hours=Coalesce(Sum("quantity", filter=Q(kind=Contribution.Kind.HOURS)), _zero()),  # type: ignore[no-redef]
        amount=Coalesce(Sum("amount"), _zero()),
        claimed=Coalesce(Sum("claimed_amount"), _zero()),
    )
    # Read as plain dicts: the stubs' row type leaves out the ``hours`` annotation.
    for row in cast("Iterable[dict[str, Any]]", grouped.order_by()):
        phase_row = by_phase.get(row["engagement__phase_id"])
        for target in (phase_row, totals):
            if target is None:
                continue
            cell = target.cells[index[row["status"]]]
            cell.count += row["n"]
            cell.hours += row["hours"]
            cell.amount += row["amount"]
            cell.claimed += row["claimed"]
    budget_used = totals.cells[index[S.APPROVED]].amount + totals.cells[index[S.PAID]].amount

    burn = study_burn_summary(study, limit=limit)

    # The lists below read only what the dashboard shows (no encrypted contact field);
    # their counts and sums are the by-status totals above.
    waiting = list(
        _dashboard_rows(in_study.filter(status=S.SUBMITTED)).order_by("submitted_at", "id")[:limit]
    )
    for c in waiting:
        cast(_Waiting, c).waited_days = (now - c.submitted_at).days if c.submitted_at else None

    unpaid_qs = in_study.filter(status=S.APPROVED)
    overdue_before = pay_overdue_before(now)
    overdue_count = unpaid_qs.filter(approved_at__lt=overdue_before).count()
    unpaid = list(_dashboard_rows(unpaid_qs).order_by("approved_at", "id")[:limit])
    for c in unpaid:
        u = cast(_Waiting, c)
        assert c.approved_at is not None  # an approved entry always has its approval time
        u.waited_days = (now - c.approved_at).days
        u.overdue = c.approved_at < overdue_before

    open_disputes = Dispute.objects.filter(
        status=Dispute.Status.OPEN, contribution__engagement__phase__study=study
    )
    disputes = list(
        open_disputes.select_related(
            "contribution__engagement__consultant", "contribution__engagement__phase"
        )
        .defer(*(f"contribution__engagement__consultant__{n}" for n in CONSULTANT_SECRETS))
        .order_by("created_at", "id")[:limit]
    )
    approved_cell = totals.cells[index[S.APPROVED]]
    return StudyDashboard(
        study=study,
        statuses=[(s.value, s.label) for s in STATUS_ORDER],
        phases=list(by_phase.values()),
        totals=totals,
        budget_used=budget_used,
        budget_pct=_percent(budget_used, study.budget),
        engagements=burn.nearest,
        engagement_count=burn.count,
        over_count=burn.over_count,
        waiting=waiting,
        waiting_count=totals.cells[index[S.SUBMITTED]].count,
        unpaid=unpaid,
        unpaid_count=approved_cell.count,
        unpaid_amount=approved_cell.amount,
        overdue_count=overdue_count,
        target_days=target_days,
        disputes=disputes,
        dispute_count=open_disputes.count(),
    )


def studies_with_counts() -> QuerySet[Study]:
    S = Contribution.Status
    return Study.objects.annotate(
        waiting_count=Count(
            "phases__engagements__contributions",
            filter=Q(phases__engagements__contributions__status=S.SUBMITTED),
        ),
        consultant_count=Count("phases__engagements__consultant", distinct=True),
    ).order_by("name")


def consultants_for_staff(user: User | AnonymousUser, *, status: str = "") -> QuerySet[Consultant]:
    """The staff list of consultants: display name, status, payout preference, W-9 status.

    Never the vault, never contact details: only the columns below are read.
    """
    qs = (
        consultants_visible_to(user)
        .select_related("tax_form")
        .only(
            "public_id",
            "display_name",
            "status",
            "payout_method",
            "tax_form__status",
            "tax_form__consultant_id",
        )
        .annotate(
            active_engagements=Count(
                "engagements", filter=Q(engagements__status=Engagement.Status.ACTIVE)
            )
        )
        .order_by("display_name", "id")
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def consultants_for_staff_count(user: User | AnonymousUser, *, status: str = "") -> int:
    """How many rows ``consultants_for_staff`` has, counted without its join."""
    qs = consultants_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    return qs.count()


def consultant_engagements(user: User | AnonymousUser, consultant: Consultant) -> list[Engagement]:
    """A consultant's engagements with their burn and their rate cards' rates."""
    return decorate_burn(
        with_burn(engagements_visible_to(user).filter(consultant=consultant))
        .prefetch_related("rate_card__rates")
        .order_by("phase__study__name", "phase__position", "role", "id")
    )


def open_disputes(user: User | AnonymousUser) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(
            status=Dispute.Status.OPEN,
            contribution__in=contributions_visible_to(user).values("pk"),
        )
        .select_related(
            "contribution__engagement__consultant",
            "contribution__engagement__phase__study",
            "raised_by",
        )
        .order_by("created_at", "id")
    )


def disputes_visible_to(user: User | AnonymousUser) -> QuerySet[Dispute]:
    return Dispute.objects.filter(
        contribution__in=contributions_visible_to(user).values("pk")
    ).select_related(
        "contribution__engagement__consultant",
        "contribution__engagement__phase__study",
        "raised_by",
        "resolved_by",
    )


def week_logged_entries(engagements: Iterable[Engagement], monday: date) -> list[Contribution]:
    """The hours entries of the week starting ``monday``, each with its amount or an estimate.

    Returned ones too: the week grid shows them, marked, so nobody types them twice.
    """
    return with_estimates(
        Contribution.objects.filter(
            engagement__in=[e.pk for e in engagements],
            kind=Contribution.Kind.HOURS,
            date__range=(monday, monday + timedelta(days=6)),
        )
        .select_related("engagement__rate_card")
        .order_by("date", "logged_at", "id")
    )


def week_logged_hours(
    engagements: Iterable[Engagement], monday: date
) -> dict[tuple[int, date], Decimal]:
    """Hours already logged per (engagement id, day) in the week starting ``monday``."""
    rows = (
        Contribution.objects.filter(
            engagement__in=[e.pk for e in engagements],
            kind=Contribution.Kind.HOURS,
            date__range=(monday, monday + timedelta(days=6)),
        )
        .exclude(status=Contribution.Status.REJECTED)
        .values("engagement_id", "date")
        # The stubs refuse an annotation named like Contribution's ``hours`` property.
        .annotate(hours=Sum("quantity"))  # type: ignore[no-redef]
        .order_by()
    )
    # Read as plain dicts: the stubs' row type leaves out the ``hours`` annotation.
    return {
        (r["engagement_id"], r["date"]): r["hours"] for r in cast("Iterable[dict[str, Any]]", rows)
    }


@dataclass(frozen=True)
class NextPayment:
    """The soonest promised payment: approved, unpaid work promised for ``on``."""

    on: date
    amount: Decimal
    currency: str

    @property
    def late(self) -> bool:
        return self.on < timezone.localdate()


def next_promised_payment(consultant: Consultant) -> NextPayment | None:
    """The approved, unpaid work whose promise is soonest, summed for that date.

    One query: the sums per (promised date, currency), soonest first.
    """
    rows = (
        Contribution.objects.filter(
            engagement__consultant=consultant,
            status=Contribution.Status.APPROVED,
            promised_pay_date__isnull=False,
        )
        .values("promised_pay_date", "engagement__phase__study__currency")
        .annotate(total=Sum("amount"))
        .order_by("promised_pay_date", "engagement__phase__study__currency")
    )
    for row in cast("Iterable[dict[str, Any]]", rows):
        if row["total"] and row["total"] > 0:
            return NextPayment(
                on=row["promised_pay_date"],
                amount=round_money(row["total"]),
                currency=row["engagement__phase__study__currency"],
            )
    return None
