"""The bounds on every number Honora accepts, read from settings in one place.

Defaults (config/settings.py, each overridable from the environment) lie far
above anything a real study records, and low enough that no sum of accepted
values overflows a money column (12 digits: 9,999,999,999.99) on SQLite or
PostgreSQL: a batch is capped at 5,000,000, a payment at 50,000, an entry at
10,000. Services read them through these functions so tests may override
settings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def hours_per_entry() -> Decimal:
    """The most hours one entry may hold."""
    return Decimal(settings.LIMIT_HOURS_PER_ENTRY)


def hours_per_day() -> Decimal:
    """The most hours one consultant may log for one date, across all their engagements."""
    return Decimal(settings.LIMIT_HOURS_PER_DAY)


def honoraria_per_entry() -> Decimal:
    """The most honoraria one entry may count."""
    return Decimal(settings.LIMIT_HONORARIA_PER_ENTRY)


def amount_per_entry() -> Decimal:
    """The largest reimbursement, and the largest approved amount of an honorarium entry."""
    return Decimal(settings.LIMIT_AMOUNT_PER_ENTRY)


def amount_per_payment() -> Decimal:
    """A payment above this is held when a batch is built or executed."""
    return Decimal(settings.LIMIT_AMOUNT_PER_PAYMENT)


def amount_per_batch() -> Decimal:
    """A batch pays at most this; the payments that would go past it are held."""
    return Decimal(settings.LIMIT_AMOUNT_PER_BATCH)


def earliest_work_date() -> date:
    """No work is dated before this (nor in the future)."""
    raw = settings.LIMIT_EARLIEST_WORK_DATE
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"LIMIT_EARLIEST_WORK_DATE must be a date like 2000-01-01; got {raw!r}"
        ) from None
