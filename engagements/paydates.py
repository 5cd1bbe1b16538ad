"""When approved work will be paid: the study's payout calendar and its target.

A study either pays in batches on chosen days (weekly on weekdays, or monthly on days
1 to 28, which every month has) or has no calendar, and then promises the approval
date plus its time-to-pay target. The calendar must never leave a gap between batch
days longer than the target, or a promise could fall after it (``calendar_problem``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from engagements.models import TIME_TO_PAY_MAX_DAYS, PayCalendar

if TYPE_CHECKING:
    from engagements.models import Study

DAY = timedelta(days=1)
# The longest month: a monthly calendar's gap across a month's end is measured against it.
LONGEST_MONTH = 31


def is_batch_day(*, kind: str, days: Iterable[int], day: date) -> bool:
    if kind == PayCalendar.WEEKLY:
        return day.weekday() in set(days)
    if kind == PayCalendar.MONTHLY:
        return day.day in set(days)
    return False


def longest_gap(*, kind: str, days: Iterable[int]) -> int:
    """The most days from one batch day to the next (0 without a calendar)."""
    ordered = sorted(set(days))
    if kind == PayCalendar.NONE or not ordered:
        return 0
    cycle = 7 if kind == PayCalendar.WEEKLY else LONGEST_MONTH
    gaps = [b - a for a, b in pairwise(ordered)]
    gaps.append(cycle - ordered[-1] + ordered[0])
    return max(gaps)


def calendar_problem(*, kind: str, days: Iterable[int], target_days: int) -> str:
    """Why this calendar cannot keep the target, in plain words; empty when it can."""
    days = sorted(set(days))
    if not 1 <= target_days <= TIME_TO_PAY_MAX_DAYS:
        return _("The time-to-pay target must be between 1 and %(max)d days.") % {
            "max": TIME_TO_PAY_MAX_DAYS
        }
    if kind == PayCalendar.NONE:
        return ""
    if not days:
        return _("Choose at least one batch day, or choose no calendar.")
    low, high = (0, 6) if kind == PayCalendar.WEEKLY else (1, 28)
    if any(not low <= d <= high for d in days):
        return _("A batch day must be between %(low)d and %(high)d.") % {"low": low, "high": high}
    gap = longest_gap(kind=kind, days=days)
    if gap > target_days:
        return _(
            "These batch days can be %(gap)d days apart, longer than the time-to-pay target"
            " of %(target)d days. Add batch days or raise the target."
        ) % {"gap": gap, "target": target_days}
    return ""


def next_batch_day(*, kind: str, days: Iterable[int], after: date) -> date:
    """The first batch day strictly after ``after``."""
    wanted = set(days)
    day = after + DAY
    # A weekly calendar repeats every 7 days, a monthly one (days 1-28) within 31.
    for _step in range(LONGEST_MONTH + 1):
        if is_batch_day(kind=kind, days=wanted, day=day):
            return day
        day += DAY
    raise ValueError("a payout calendar without batch days")


def promised_pay_date(*, study: Study, approved_on: date, not_before: date | None = None) -> date:
    """The date by which work approved on ``approved_on`` will be paid.

    The first batch day strictly after the approval (and on or after ``not_before``,
    for payments a consultant chose to take later), or the approval plus the
    study's target when it has no calendar.
    """
    days = study.batch_days
    if not days:
        promised = approved_on + timedelta(days=study.time_to_pay_days)
        return max(promised, not_before) if not_before else promised
    after = approved_on
    if not_before is not None and not_before - DAY > after:
        after = not_before - DAY
    return next_batch_day(kind=study.pay_calendar, days=days, after=after)
