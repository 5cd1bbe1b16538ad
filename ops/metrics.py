"""Prometheus metrics, read from the database at each scrape.

Nothing is counted in process memory: every web process answers the same numbers,
however many there are and however often they restart. A scrape costs a handful of
aggregate queries. Names and labels carry no personal data: statuses, methods and
counts only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from prometheus_client.core import (
    CollectorRegistry,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

DAY = 24 * 60 * 60
# Time-to-pay buckets, in days (approval of the work to the payment being paid).
TIME_TO_PAY_BUCKET_DAYS = (1, 2, 3, 7, 14, 21, 30, 60, 90)


def _payments() -> Iterator[Metric]:
    from payments.models import Payment, PayoutBatch

    by_status = GaugeMetricFamily(
        "honora_payments", "Payments by status and payout method.", labels=["status", "method"]
    )
    counts = {
        (row["status"], row["method"]): row["n"]
        for row in Payment.objects.order_by().values("status", "method").annotate(n=Count("id"))
    }
    for status in Payment.Status.values:
        methods = {m for (s, m) in counts if s == status} or {""}
        for method in sorted(methods):
            by_status.add_metric([status, method], counts.get((status, method), 0))
    yield by_status

    batches = GaugeMetricFamily(
        "honora_payout_batches", "Payout batches by status.", labels=["status"]
    )
    batch_counts = dict(
        PayoutBatch.objects.order_by().values_list("status").annotate(n=Count("id"))
    )
    for status in PayoutBatch.Status.values:
        batches.add_metric([status], batch_counts.get(status, 0))
    yield batches


def time_to_pay_seconds(*, window_days: int) -> list[float]:
    """Approval-to-paid seconds of each piece of work paid in the last ``window_days``."""
    from payments.models import Payment, PaymentItem

    since = timezone.now() - timedelta(days=window_days)
    rows = PaymentItem.objects.filter(
        live=True,
        payment__status=Payment.Status.PAID,
        payment__paid_at__gte=since,
        contribution__approved_at__isnull=False,
    ).values_list("contribution__approved_at", "payment__paid_at")
    return [
        max(0.0, (paid - approved).total_seconds())
        for approved, paid in rows
        if approved is not None and paid is not None
    ]


def _time_to_pay() -> Iterator[Metric]:
    from engagements.models import Contribution
    from engagements.selectors import pay_overdue_before

    window = settings.METRICS_TIME_TO_PAY_WINDOW_DAYS
    seconds = time_to_pay_seconds(window_days=window)
    buckets = [
        (str(float(days * DAY)), sum(1 for s in seconds if s <= days * DAY))
        for days in TIME_TO_PAY_BUCKET_DAYS
    ]
    buckets.append(("+Inf", len(seconds)))
    histogram = HistogramMetricFamily(
        "honora_time_to_pay_seconds",
        f"Seconds from a contribution's approval to its payment being paid, for work "
        f"paid in the last {window} days.",
        buckets=buckets,
        sum_value=sum(seconds),
    )
    yield histogram

    overdue = Contribution.objects.filter(
        status=Contribution.Status.APPROVED, approved_at__lt=pay_overdue_before(timezone.now())
    ).count()
    yield GaugeMetricFamily(
        "honora_contributions_unpaid_overdue",
        "Approved contributions not paid within TIME_TO_PAY_TARGET_DAYS.",
        value=overdue,
    )
    yield GaugeMetricFamily(
        "honora_time_to_pay_target_seconds",
        "The time-to-pay target (TIME_TO_PAY_TARGET_DAYS), in seconds.",
        value=settings.TIME_TO_PAY_TARGET_DAYS * DAY,
    )


def _webhooks() -> Iterator[Metric]:
    from payments.models import WebhookEvent

    now = timezone.now()
    last = WebhookEvent.objects.order_by().aggregate(t=Max("received_at"))["t"]
    age = GaugeMetricFamily(
        "honora_stripe_webhook_last_received_age_seconds",
        "Seconds since the last Stripe event was received (absent when none ever was).",
    )
    lag = GaugeMetricFamily(
        "honora_stripe_webhook_delivery_lag_seconds",
        "For the newest Stripe event: seconds between Stripe creating it and Honora storing it.",
    )
    if last is not None:
        age.add_metric([], max(0.0, (now - last).total_seconds()))
        newest = WebhookEvent.objects.order_by("-received_at", "-id").values(
            "received_at", "created"
        )[0]
        lag.add_metric([], max(0.0, newest["received_at"].timestamp() - newest["created"]))
    yield age
    yield lag


def _queue() -> Iterator[Metric]:
    from ops.selectors import stuck_payment_counts, task_queue_state

    state = task_queue_state()
    yield GaugeMetricFamily(
        "honora_tasks_waiting", "Tasks due to run and waiting for a worker.", value=state.waiting
    )
    yield GaugeMetricFamily(
        "honora_tasks_running", "Tasks a worker is running now.", value=state.running
    )
    yield GaugeMetricFamily(
        "honora_tasks_oldest_waiting_seconds",
        "How long the oldest waiting task has been due (0 when none waits).",
        value=state.oldest_waiting_seconds,
    )
    stuck = stuck_payment_counts()
    yield GaugeMetricFamily(
        "honora_payments_stuck",
        "Stripe payments no task has moved for PAYMENTS_SWEEP_AFTER_SECONDS (the sweeper's rule).",
        value=stuck.payments,
    )
    yield GaugeMetricFamily(
        "honora_reversals_stuck",
        "Reversals of returned Stripe payments no task is moving (the sweeper's rule).",
        value=stuck.reversals,
    )
    yield GaugeMetricFamily(
        "honora_receipts_stuck",
        "Paid payments still without a receipt PAYMENTS_SWEEP_AFTER_SECONDS after payment.",
        value=stuck.receipts,
    )


class HonoraCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _payments()
        yield from _time_to_pay()
        yield from _webhooks()
        yield from _queue()


def registry() -> CollectorRegistry:
    """A registry of Honora's collector alone (not this process's own counters)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(HonoraCollector())
    return reg
