"""Studies, their rate cards' rates, and engaging a consultant in a phase."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from consultants.models import Consultant
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.money import round_money
from engagements import actions
from engagements.models import (
    DEFAULT_PHASES,
    Activity,
    Engagement,
    PayCalendar,
    Phase,
    Rate,
    RateCard,
    Study,
)
from engagements.rates import QUARTER
from engagements.services.checks import MAX_AMOUNT, checked_decimal, in_cents

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def study_create(
    *,
    name: str,
    by: User,
    hourly_rate_floor: Decimal | None = None,
    budget: Decimal | None = None,
    description: str = "",
) -> Study:
    study = Study(
        name=name.strip(),
        description=description,
        budget=budget,
        currency=settings.CURRENCY,
        hourly_rate_floor=(
            settings.HOURLY_RATE_FLOOR if hourly_rate_floor is None else hourly_rate_floor
        ),
    )
    stamp(study, by=by, action=actions.STUDY_CREATED)
    study.save()
    for position, name_ in enumerate(DEFAULT_PHASES, start=1):
        phase = Phase(study=study, name=str(name_), position=position)
        stamp(phase, by=by, action=actions.PHASE_CREATED)
        phase.save()
    return study


@transaction.atomic
def study_set_pay_calendar(
    *,
    study: Study,
    by: User,
    time_to_pay_days: int,
    calendar: str,
    days: list[int],
    reason: str,
) -> Study:
    """Set the study's batch days and time-to-pay target (finance and admin).

    Promises already made stay as they were; work approved from now on is promised
    by the new calendar (``engagements.paydates``).
    """
    from accounts.roles import ADMIN, FINANCE
    from engagements.paydates import calendar_problem

    if not (by.has_role(FINANCE, ADMIN) or by.is_superuser):
        raise NotAllowed(_("Only finance or an administrator sets the payout calendar."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the calendar changes."), field="reason")
    if calendar not in PayCalendar.values:
        raise ValidationFailed(_("Choose a kind of calendar."), field="calendar")
    days = sorted(set(days)) if calendar != PayCalendar.NONE else []
    problem = calendar_problem(kind=calendar, days=days, target_days=time_to_pay_days)
    if problem:
        field = (
            "time_to_pay_days"
            if not 1 <= time_to_pay_days <= 60
            else ("weekdays" if calendar == PayCalendar.WEEKLY else "monthdays")
        )
        raise ValidationFailed(problem, field=field)
    s = Study.objects.select_for_update().get(pk=study.pk)
    s.time_to_pay_days = time_to_pay_days
    s.pay_calendar = calendar
    s.pay_days = ",".join(str(d) for d in days)
    stamp(s, by=by, action=actions.STUDY_PAY_CALENDAR_SET, reason=reason)
    s.save(update_fields=["time_to_pay_days", "pay_calendar", "pay_days"])
    return s


@transaction.atomic
def rate_add(
    *,
    rate_card: RateCard,
    by: User,
    kind: str,
    amount: object,
    effective_from: date,
    activity: str = "",
) -> Rate:
    """Add a rate to a card, taking effect on ``effective_from``.

    Rates are a schedule and are never edited: a change is a new rate with a
    later date. The study's floor is copied on the row, where a database
    constraint holds the rate at or above it.
    """
    study = Study.objects.select_for_update().get(pk=rate_card.study_id)
    if kind not in Rate.Kind.values:
        raise ValidationFailed(_("Choose hourly or flat."), field="kind")
    if activity not in ("", *Activity.values):
        raise ValidationFailed(_("Choose an activity."), field="activity")
    amount = checked_decimal(
        amount, "amount", limit=MAX_AMOUNT, too_large=_("That amount is too large.")
    )
    floor = study.hourly_rate_floor if kind == Rate.Kind.HOURLY else Decimal("0.00")
    if amount <= 0:
        raise ValidationFailed(_("A rate must be more than zero."), field="amount")
    if amount < floor:
        raise ValidationFailed(
            _("This study's hourly rates cannot go below %(floor)s.") % {"floor": floor},
            field="amount",
            code="below_floor",
        )
    if Rate.objects.filter(
        rate_card=rate_card, kind=kind, activity=activity, effective_from=effective_from
    ).exists():
        raise StateConflict(
            _("This card already has a rate for that activity taking effect on that date."),
            field="effective_from",
        )
    rate = Rate(
        rate_card=rate_card,
        kind=kind,
        activity=activity,
        amount=round_money(amount),
        floor=floor,
        effective_from=effective_from,
        created_by=by,
    )
    stamp(rate, by=by, action=actions.RATE_ADDED)
    rate.save()
    # Every engagement on this card gets a new agreement version to accept.
    from agreements.services import agreements_refresh

    agreements_refresh(engagements=rate_card.engagements.all(), by=by)
    return rate


def _optional_positive(value: object, field: str, *, limit: Decimal) -> Decimal | None:
    if value in (None, ""):
        return None
    value = checked_decimal(value, field, limit=limit)
    if value <= 0:
        raise ValidationFailed(_("Enter a number more than zero, or leave it empty."), field=field)
    if not in_cents(value):
        raise ValidationFailed(_("Use at most two decimal places."), field=field)
    return value


@transaction.atomic
def engagement_create(
    *,
    by: User,
    consultant: Consultant,
    phase: Phase,
    role: str,
    rate_card: RateCard,
    hours_cap: object = None,
    budget: object = None,
) -> Engagement:
    """Engage a consultant in one phase of a study, in a role, on one of its rate cards."""
    if not by.has_perm("engagements.add_engagement"):
        raise NotAllowed(_("You cannot engage consultants."))
    # The consultant's row is the lock: two people engaging them at once queue up.
    consultant = Consultant.objects.select_for_update().get(pk=consultant.pk)
    if consultant.status != Consultant.Status.ACTIVE:
        raise StateConflict(
            _("This consultant is not active, so they cannot be engaged."), field="consultant"
        )
    role = (role or "").strip()
    if not role:
        raise ValidationFailed(_("Enter the consultant's role in this phase."), field="role")
    if len(role) > 120:
        raise ValidationFailed(_("Keep the role under 120 characters."), field="role")
    if rate_card.study_id != phase.study_id:
        raise ValidationFailed(
            _("Choose a rate card of the study this phase belongs to."), field="rate_card"
        )
    hours_cap = _optional_positive(hours_cap, "hours_cap", limit=Decimal("100000"))
    if hours_cap is not None and hours_cap % QUARTER != 0:
        raise ValidationFailed(_("Give the cap in quarter hours."), field="hours_cap")
    budget = _optional_positive(budget, "budget", limit=Decimal("10000000000"))
    if Engagement.objects.filter(consultant=consultant, phase=phase, role__iexact=role).exists():
        raise ValidationFailed(
            _("This consultant already has that role in this phase."),
            field="role",
            code="duplicate",
        )
    engagement = Engagement(
        consultant=consultant,
        phase=phase,
        role=role,
        rate_card=rate_card,
        hours_cap=hours_cap,
        budget=budget,
    )
    stamp(engagement, by=by, action=actions.ENGAGEMENT_CREATED)
    engagement.save()
    # The first version of the engagement's agreement, for the consultant to accept.
    from agreements.services import agreement_issue

    agreement_issue(engagement=engagement, by=by)
    return engagement
