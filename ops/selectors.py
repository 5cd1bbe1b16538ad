"""Reads about the running system that /readyz and /metrics share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from payments.stripe.engine import stuck_payments, stuck_receipts, stuck_reversals


@dataclass(frozen=True)
class QueueState:
    waiting: int  # ready to run now (not deferred to later)
    oldest_waiting_seconds: float  # 0 when nothing waits
    running: int


def task_queue_state(*, now: datetime | None = None) -> QueueState:
    """How many tasks wait for a worker, and since when the oldest has been due.

    A task waits from when it was enqueued, or from its ``run_after`` when it was
    deferred (django-tasks-db stores "not deferred" as a far-future run_after).
    """
    now = now or timezone.now()
    ready = DBTaskResult.objects.ready()
    never_deferred = get_date_max()
    waiting = ready.count()
    oldest_plain = ready.filter(run_after=never_deferred).aggregate(t=Min("enqueued_at"))["t"]
    oldest_deferred = ready.exclude(run_after=never_deferred).aggregate(t=Min("run_after"))["t"]
    since = [t for t in (oldest_plain, oldest_deferred) if t is not None]
    oldest = max(0.0, (now - min(since)).total_seconds()) if since else 0.0
    running = DBTaskResult.objects.running().count()
    return QueueState(waiting=waiting, oldest_waiting_seconds=oldest, running=running)


@dataclass(frozen=True)
class StuckPayments:
    payments: int
    reversals: int
    receipts: int  # paid payments still without a rendered receipt


def stuck_payment_counts() -> StuckPayments:
    """Stripe payments, reversals and receipts no task is moving: the sweeper's own rules."""
    return StuckPayments(
        payments=len(stuck_payments()),
        reversals=len(stuck_reversals()),
        receipts=len(stuck_receipts()),
    )
