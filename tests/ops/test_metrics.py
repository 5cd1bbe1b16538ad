"""/metrics: off by default, a bearer token when set, and numbers that match the database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from engagements.models import Contribution
from payments.models import Payment, WebhookEvent

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = ""


def test_off_by_default(client, settings):
    assert settings.METRICS_ENABLED is False
    assert client.get("/metrics").status_code == 404


def test_a_token_is_required_when_set(client, settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        client.get(
            "/metrics", headers={"Authorization": "Token scrape-token-0123456789"}
        ).status_code
        == 401
    )
    assert scrape(client, Authorization="Bearer scrape-token-0123456789")


@pytest.fixture
def paid_world(engagement, coordinator, coordinator2, finance):
    """One paid manual payment, one approved contribution overdue for pay, one webhook event."""
    from engagements.services.contributions import contribution_create
    from engagements.services.reviews import contribution_approve
    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual
    from tests.factories import UserFactory

    paid_work = contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="meeting",
        date=date(2026, 3, 10),
        quantity=Decimal("1"),
        submit=True,
    )
    contribution_approve(contribution=paid_work, by=coordinator2)
    batch = batch_build(by=finance, cutoff_date=date(2026, 3, 31))
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=UserFactory(roles=["finance"]))
    batch_execute(batch=batch, by=finance)
    payment = payment_record_manual(
        payment=batch.payments.get(), by=finance, reference="1001", handed_over_on=date(2026, 4, 1)
    )
    # Approved three days before it was paid.
    Contribution.objects.filter(pk=paid_work.pk).update(
        approved_at=payment.paid_at - timedelta(days=3)
    )
    late = contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="meeting",
        date=date(2026, 3, 11),
        quantity=Decimal("1"),
        submit=True,
    )
    contribution_approve(contribution=late, by=coordinator2)
    Contribution.objects.filter(pk=late.pk).update(approved_at=timezone.now() - timedelta(days=30))
    WebhookEvent.objects.create(
        event_id="evt_1",
        type="transfer.created",
        created=int((timezone.now() - timedelta(seconds=90)).timestamp()),
        payload={},
    )
    return payment


def test_numbers_match_the_database(client, metrics_on, paid_world):
    samples = scrape(client)
    for status in Payment.Status.values:
        rows = Payment.objects.filter(status=status)
        for method in set(rows.values_list("method", flat=True)):
            key = ("honora_payments", (("method", method), ("status", status)))
            assert samples[key] == rows.filter(method=method).count()
    paid = Payment.objects.get(status="paid")
    assert samples[("honora_payments", (("method", paid.method), ("status", "paid")))] == 1

    # Time to pay: the one piece of paid work took three days.
    assert samples[("honora_time_to_pay_seconds_count", ())] == 1
    assert samples[("honora_time_to_pay_seconds_sum", ())] == pytest.approx(3 * 86400, abs=5)
    assert samples[("honora_time_to_pay_seconds_bucket", (("le", "172800.0"),))] == 0
    assert samples[("honora_time_to_pay_seconds_bucket", (("le", "259200.0"),))] == 1
    assert samples[("honora_time_to_pay_seconds_bucket", (("le", "+Inf"),))] == 1
    # The other approved entry waits past the 14-day target.
    assert samples[("honora_contributions_unpaid_overdue", ())] == 1
    assert samples[("honora_time_to_pay_target_seconds", ())] == 14 * 86400

    lag = samples[("honora_stripe_webhook_delivery_lag_seconds", ())]
    assert 85 <= lag <= 90 + 600
    assert 0 <= samples[("honora_stripe_webhook_last_received_age_seconds", ())] < 600

    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.ready().count()
    assert samples[("honora_tasks_waiting", ())] == waiting
    assert samples[("honora_payments_stuck", ())] == 0
    assert (
        samples[("honora_payout_batches", (("status", "completed"),))]
        + samples[("honora_payout_batches", (("status", "processing"),))]
        == 1
    )


def test_no_personal_data_in_the_metrics(client, metrics_on, paid_world, consultant):
    text = client.get("/metrics").content.decode()
    for value in (consultant.email, consultant.user.email, consultant.display_name, "1001"):
        assert value not in text


def test_a_paid_payment_without_its_receipt_shows_once_the_sweeper_would_act(
    client, metrics_on, paid_world, settings
):
    from payments.documents.models import Receipt

    # The receipt task was enqueued, never run (no worker here): just paid, nothing stuck.
    assert not Receipt.objects.filter(payment=paid_world, rendered_at__isnull=False).exists()
    assert scrape(client)[("honora_receipts_stuck", ())] == 0
    assert client.get("/readyz").json()["checks"]["payments"]["stuck_receipts"] == 0

    # Paid longer ago than the sweeper waits: a worker died before issuing it.
    Payment.objects.filter(pk=paid_world.pk).update(
        paid_at=timezone.now() - timedelta(seconds=settings.PAYMENTS_SWEEP_AFTER_SECONDS + 60)
    )
    assert scrape(client)[("honora_receipts_stuck", ())] == 1
    payments = client.get("/readyz").json()["checks"]["payments"]
    assert payments["stuck_receipts"] == 1 and payments["status"] == "warn"
