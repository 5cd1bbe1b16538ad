"""When approved work is scheduled to be paid, and month arithmetic."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from engagements.models import Contribution


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """How many months from ``first``'s month to ``last``'s month (0 for the same month)."""
    return (last.year - first.year) * 12 + (last.month - first.month)


def scheduled_on(contribution: Contribution) -> date:
    """The day approved work is scheduled to be paid: its promised pay date
    (``engagements.paydates``; moved when the consultant defers or splits it), or, for
    work approved before promises existed and never filled in, the approval day plus
    the time-to-pay target."""
    if contribution.promised_pay_date is not None:
        return contribution.promised_pay_date
    approved = contribution.approved_at
    day = timezone.localdate(approved) if approved is not None else contribution.date
    return day + timedelta(days=settings.TIME_TO_PAY_TARGET_DAYS)
