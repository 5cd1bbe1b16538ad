"""The consultant's own requests: pay approved work later (defer or split), cancel that,
and issue an income letter.

Each write locks the consultant's row first, so two requests of one person are never
decided on the same stale picture. Plans and letters are append-only rows; a
cancellation is a new event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consultants.models import Consultant
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.money import COLUMN_LIMIT, sum_money
from core.tasks import enqueue_on_commit
from engagements.models import Contribution
from engagements.paydates import promised_pay_date
from income.batching import active_plan_entries
from income.models import (
    MAX_DEFER_MONTHS_AHEAD,
    MAX_LETTER_MONTHS,
    MAX_SPLIT_MONTHS,
    MIN_SPLIT_MONTHS,
    IncomeLetter,
    LetterCounter,
    PayPlan,
    PayPlanEntry,
    PayPlanEvent,
)
from income.plans import entry_months, split_layout
from income.schedule import month_start, months_between
from income.selectors import letter_months
from payments.documents.rendering import organization, payee_name
from payments.models import PaymentItem
from payments.preflight import open_items_filter

if TYPE_CHECKING:
    from accounts.models import User

MAX_ENTRIES = 500
ZERO = Decimal("0.00")


def _locked_consultant(consultant: Consultant, by: User) -> Consultant:
    if consultant.user_id != by.pk:
        raise NotAllowed(_("Only the consultant can ask this for their own work."), code="not_own")
    # NO KEY: two requests of one person still wait for each other, but a batch inserting
    # a payment for this consultant (its foreign key takes KEY SHARE) does not, so a
    # batch holding the work and a plan holding the consultant never deadlock.
    return Consultant.objects.select_for_update(no_key=True).get(pk=consultant.pk)


def plannable_work(consultant: Consultant, *, lock: bool = False) -> list[Contribution]:
    """Approved income work not in any payment yet and in no live plan: what a new plan
    may cover (reimbursements are not income, so they are never planned).

    ``lock``: the rows are locked as the batch builder locks them, so a plan and a batch
    being built at the same moment never both claim one entry."""
    rows = (
        Contribution.objects.filter(open_items_filter(), engagement__consultant=consultant)
        .exclude(kind=Contribution.Kind.REIMBURSEMENT)
        # A deduction (an adjustment of zero or less) is never moved to later: deferring
        # it would pay the consultant in full now and take the money back later.
        .exclude(amount__lte=0)
        .select_related("engagement__phase__study")
        .order_by("date", "id")
    )
    if lock:
        rows = rows.select_for_update(of=("self",))
    work = list(rows)
    if lock and work:
        # The SELECT ... FOR UPDATE checked "in no live payment item" against its own
        # snapshot: a batch that held these rows and just put some in a payment is only
        # seen by a new statement, after the locks are ours.
        paid = set(
            PaymentItem.objects.filter(
                live=True, contribution_id__in=[c.pk for c in work]
            ).values_list("contribution_id", flat=True)
        )
        work = [c for c in work if c.pk not in paid]
    planned = active_plan_entries(c.pk for c in work)
    return [c for c in work if c.pk not in planned]


def _month(value: object, field: str) -> date:
    if not isinstance(value, date):
        raise ValidationFailed(_("Choose a month."), field=field)
    return month_start(value)


@transaction.atomic
def pay_plan_create(
    *,
    consultant: Consultant,
    by: User,
    kind: str,
    entries: Iterable[Contribution] | None,
    start_month: date,
    months: int = 1,
    month_limit: Decimal | None = None,
    today: date | None = None,
) -> PayPlan:
    """Ask that chosen approved entries (``None``: all of them) be paid later.

    ``defer``: all in ``start_month`` (next month to 12 months ahead). ``split``: over
    ``months`` (2 to 6) consecutive months from ``start_month`` (this month to 12 ahead),
    at most ``month_limit`` a month, whole entries only.
    """
    today = today or timezone.localdate()
    this_month = month_start(today)
    locked = _locked_consultant(consultant, by)
    if kind not in PayPlan.Kind.values:
        raise ValidationFailed(_("Choose to defer or to split."), field="kind")
    start = _month(start_month, "start_month")
    ahead = months_between(this_month, start)
    if ahead > MAX_DEFER_MONTHS_AHEAD:
        raise ValidationFailed(
            _("Choose a month at most %(n)s months ahead.") % {"n": MAX_DEFER_MONTHS_AHEAD},
            field="start_month",
        )
    available = {c.pk: c for c in plannable_work(locked, lock=True)}
    if entries is None:
        chosen = list(available.values())
        if not chosen:
            # A state, not a bad request: there is nothing approved and unpaid to move.
            raise StateConflict(
                _("You have no approved work waiting to be paid that could be moved."),
                code="nothing_to_plan",
            )
    else:
        ids = [c.pk for c in entries]
        if len(ids) > MAX_ENTRIES:
            raise ValidationFailed(
                _("Choose at most %(n)s entries.") % {"n": MAX_ENTRIES}, field="entries"
            )
        if any(pk not in available for pk in ids):
            raise StateConflict(
                _("Some of this work is already being paid or planned. Look again and choose."),
                code="not_plannable",
            )
        chosen = sorted((available[pk] for pk in set(ids)), key=lambda c: (c.date, c.pk))
    if not chosen:
        raise ValidationFailed(_("Choose at least one approved entry."), field="entries")

    if kind == PayPlan.Kind.DEFER:
        if ahead < 1:
            raise ValidationFailed(_("Choose a month from next month on."), field="start_month")
        months, month_limit = 1, None
    else:
        if ahead < 0:
            raise ValidationFailed(_("Choose this month or a later one."), field="start_month")
        if not isinstance(months, int) or not MIN_SPLIT_MONTHS <= months <= MAX_SPLIT_MONTHS:
            raise ValidationFailed(
                _("Spread the work over %(low)s to %(high)s months.")
                % {"low": MIN_SPLIT_MONTHS, "high": MAX_SPLIT_MONTHS},
                field="months",
            )
        try:
            limit = Decimal(month_limit) if month_limit is not None else None
        except (InvalidOperation, TypeError, ValueError):
            limit = None
        if (
            limit is None
            or not limit.is_finite()
            or limit <= 0
            or limit >= COLUMN_LIMIT
            or limit != limit.quantize(Decimal("0.01"))
        ):
            raise ValidationFailed(
                _("Enter the most per month, more than zero, in dollars and cents."),
                field="month_limit",
            )
        month_limit = limit.quantize(Decimal("0.01"))
        amounts = [c.amount or ZERO for c in chosen]
        if (
            split_layout(start_month=start, months=months, month_limit=month_limit, amounts=amounts)
            is None
        ):
            raise ValidationFailed(
                _(
                    "These entries (%(total)s) do not fit in %(months)s months of at most "
                    "%(limit)s, paying whole entries. Choose a higher amount or more months."
                )
                % {
                    "total": sum_money(amounts),
                    "months": months,
                    "limit": month_limit,
                },
                field="month_limit",
            )
    plan = PayPlan.objects.create(
        consultant=locked,
        kind=kind,
        start_month=start,
        months=months,
        month_limit=month_limit,
        created_by=by,
    )
    PayPlanEntry.objects.bulk_create(PayPlanEntry(plan=plan, contribution=c) for c in chosen)
    planned = entry_months(
        kind=kind,
        start_month=start,
        months=months,
        month_limit=month_limit,
        amounts=[(c.pk, c.amount or ZERO) for c in chosen],
    )
    _repromise(chosen, payable_from=planned)
    return plan


def _repromise(work: Iterable[Contribution], *, payable_from: dict[int, date]) -> None:
    """Move each entry's promised pay date to the first one its plan allows: the work is
    treated as payable from the first day of its planned month (or from ``today`` when
    the plan is cancelled), so a deferral never shows as late and slip notices keep
    counting from the date actually promised. The plan rows are the record of why."""
    by_date: dict[date, list[int]] = {}
    for c in work:
        study = c.engagement.phase.study
        approved_on = timezone.localdate(c.approved_at) if c.approved_at else c.date
        start = payable_from[c.pk]
        promised = promised_pay_date(study=study, approved_on=approved_on)
        if promised < start:
            promised = promised_pay_date(study=study, approved_on=start - timedelta(days=1))
        by_date.setdefault(promised, []).append(c.pk)
    for promised, ids in by_date.items():
        Contribution.objects.filter(pk__in=ids).update(promised_pay_date=promised)


def plan_waiting_ids(plan: PayPlan) -> list[int]:
    """The plan's entries not in any live payment yet."""
    covered = PayPlanEntry.objects.filter(plan=plan).values("contribution_id")
    batched = PaymentItem.objects.filter(live=True, contribution_id__in=covered).values(
        "contribution_id"
    )
    return list(
        PayPlanEntry.objects.filter(plan=plan)
        .exclude(contribution_id__in=batched)
        .values_list("contribution_id", flat=True)
    )


@transaction.atomic
def pay_plan_cancel(*, plan: PayPlan, by: User) -> PayPlanEvent:
    """Cancel a plan while some of its work is not in a batch yet: that work goes back to
    being paid as usual (work already in a batch stays where it is)."""
    _locked_consultant(plan.consultant, by)
    if PayPlanEvent.objects.filter(plan=plan, kind=PayPlanEvent.Kind.CANCELLED).exists():
        raise StateConflict(_("This request was already cancelled."), code="already_cancelled")
    if not plan_waiting_ids(plan):
        raise StateConflict(
            _("All the work of this request is already in a payment; it cannot be cancelled."),
            code="already_batched",
        )
    waiting = plan_waiting_ids(plan)
    try:
        with transaction.atomic():
            event = PayPlanEvent.objects.create(plan=plan, kind=PayPlanEvent.Kind.CANCELLED, by=by)
    except IntegrityError:
        raise StateConflict(
            _("This request was already cancelled."), code="already_cancelled"
        ) from None
    # The waiting work is paid as usual again: from today, never earlier than the plan
    # had put it (a promise already past would read "late" for the consultant's own choice).
    today = timezone.localdate()
    work = list(
        Contribution.objects.select_related("engagement__phase__study").filter(pk__in=waiting)
    )
    _repromise(work, payable_from={c.pk: today for c in work})
    return event


def _next_letter_number(year: int) -> str:
    counter, _created = LetterCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"L-{year}-{counter.last_number:06d}"


def letter_language(consultant: Consultant) -> str:
    language = consultant.preferred_language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@transaction.atomic
def income_letter_issue(
    *,
    consultant: Consultant,
    by: User,
    first_month: date,
    last_month: date,
    today: date | None = None,
) -> IncomeLetter:
    """An income letter for the months from ``first_month`` to ``last_month``: what was
    paid each month (income), reimbursements apart, copied as issued."""
    today = today or timezone.localdate()
    locked = _locked_consultant(consultant, by)
    first = _month(first_month, "first_month")
    last = _month(last_month, "last_month")
    if last > month_start(today):
        raise ValidationFailed(_("The period cannot end in the future."), field="last_month")
    if first > last:
        raise ValidationFailed(
            _("The first month must come before the last one."), field="first_month"
        )
    if months_between(first, last) + 1 > MAX_LETTER_MONTHS:
        raise ValidationFailed(
            _("A letter covers at most %(n)s months.") % {"n": MAX_LETTER_MONTHS},
            field="first_month",
        )
    months = letter_months(locked, first=first, last=last)
    org = organization()
    letter = IncomeLetter.objects.create(
        number=_next_letter_number(today.year),
        consultant=locked,
        period_start=first,
        period_end=last,
        months=months,
        income_total=sum_money(Decimal(m["income"]) for m in months),
        reimbursements_total=sum_money(Decimal(m["reimbursements"]) for m in months),
        currency=settings.CURRENCY,
        language=letter_language(locked),
        payee_name=payee_name(locked),
        organization_name=org["name"],
        organization_address="\n".join(org["address_lines"]),
        organization_tax_id=org["tax_id"],
        signatory_name=settings.ORGANIZATION_SIGNATORY_NAME,
        signatory_title=settings.ORGANIZATION_SIGNATORY_TITLE,
        issued_by=by,
    )
    # The PDF is drawn by a worker, outside this transaction and the request.
    enqueue_on_commit("income.tasks.render_income_letter", letter.pk)
    return letter
