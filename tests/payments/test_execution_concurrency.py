"""Workers racing each other on PostgreSQL (row locks, real threads, real HTTP).

Two workers executing the same batch, the same task four times at once, two
finance users pressing execute together, two batches built over the same work:
every consultant is still paid exactly once, and the sandbox's dump proves it.
"""

from __future__ import annotations

import random
import threading
from datetime import date

import pytest
from django.db import connection

from core.errors import StateConflict, ValidationFailed
from payments.models import Payment, PaymentAttempt, PaymentItem, PayoutBatch
from payments.services.batches import batch_build, batch_execute
from payments.stripe import engine
from tests.conftest import requires_postgres

pytestmark = [
    requires_postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("paid_hook"),
]


def at_once(*jobs, timeout: float = 60.0) -> list:
    """Run each job in its own thread (and connection), all released together."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = job()
        except BaseException as exc:  # reported to the test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_the_same_task_four_times_at_once_pays_once(payout_world, stripe_sandbox):
    stripe_sandbox.set_latency(150)  # widen every window
    payout_world.consultant(["210.00"])
    batch = payout_world.executed_batch()
    [payment] = Payment.objects.filter(batch=batch)
    outcomes = at_once(*[lambda: engine.pay(payment.pk)] * 4)
    assert all(isinstance(o, str) for o in outcomes), outcomes
    assert outcomes.count("paid") >= 1
    assert set(outcomes) <= {"paid", "busy", "skipped"}
    payout_world.assert_paid_exactly_once([payment])
    assert PaymentAttempt.objects.count() == 1
    posts = [r for r in stripe_sandbox.requests if r["path"] == "/v1/transfers"]
    assert len(posts) == 1  # the claim kept the others from even calling


def test_the_same_task_twice_in_a_row_pays_once(payout_world, stripe_sandbox):
    payout_world.consultant(["99.99"])
    batch = payout_world.executed_batch()
    [payment] = Payment.objects.filter(batch=batch)
    assert engine.pay(payment.pk) == "paid"
    assert engine.pay(payment.pk) == "skipped"
    payout_world.assert_paid_exactly_once([payment])


def test_two_workers_executing_the_same_batch_pay_each_consultant_once(
    payout_world, stripe_sandbox
):
    stripe_sandbox.set_latency(20)
    for i in range(12):
        payout_world.consultant([f"{10 + i}.{i:02d}", "5.00"])
    batch = payout_world.executed_batch()
    ids = list(Payment.objects.filter(batch=batch).values_list("pk", flat=True))
    # Every task enqueued twice (a retry, a duplicate message), two workers draining.
    queue = ids + ids

    def worker(seed):
        order = list(queue)
        random.Random(seed).shuffle(order)
        return [engine.pay(payment_id) for payment_id in order]

    outcomes = at_once(lambda: worker(1), lambda: worker(2))
    assert all(isinstance(o, list) for o in outcomes), outcomes
    # A busy payment is finished by whoever holds it; run the stragglers once more.
    for payment_id in ids:
        engine.pay(payment_id)
    payments = list(Payment.objects.filter(batch=batch))
    payout_world.assert_paid_exactly_once(payments)
    assert PaymentAttempt.objects.count() == len(ids)
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.COMPLETED


def test_two_people_executing_at_once_start_it_once(payout_world, finance, finance2):
    from tests.factories import UserFactory

    third = UserFactory(roles=["finance"])
    payout_world.consultant(["40.00"])
    batch = payout_world.approved_batch()
    outcomes = at_once(
        lambda: batch_execute(batch=batch, by=finance),
        lambda: batch_execute(batch=batch, by=third),
    )
    assert all(isinstance(o, PayoutBatch) for o in outcomes), outcomes
    b = PayoutBatch.objects.get(pk=batch.pk)
    assert b.history.filter(history_action="batch.executed").count() == 1
    [payment] = Payment.objects.filter(batch=b)
    assert payment.history.filter(history_action="payment.processing").count() == 1


def test_a_contribution_is_in_at_most_one_live_payment_when_two_build_at_once(
    payout_world, finance, finance2
):
    for _ in range(5):
        payout_world.consultant(["20.00", "30.00"])

    def build(user):
        return batch_build(by=user, cutoff_date=date(2026, 3, 31))

    outcomes = at_once(lambda: build(finance), lambda: build(finance2))
    batches = [o for o in outcomes if isinstance(o, PayoutBatch)]
    losers = [o for o in outcomes if not isinstance(o, PayoutBatch)]
    assert len(batches) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], (StateConflict, ValidationFailed)), outcomes
    live = PaymentItem.objects.filter(live=True)
    assert live.count() == 10
    assert live.values("contribution").distinct().count() == 10


def test_the_database_refuses_a_second_live_item_for_a_contribution(payout_world):
    from django.db import IntegrityError, transaction

    payout_world.consultant(["20.00"])
    batch = payout_world.approved_batch()
    item = PaymentItem.objects.get(payment__batch=batch)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentItem.objects.create(
            payment=item.payment, contribution=item.contribution, amount=item.amount
        )
    assert PaymentItem.objects.filter(contribution=item.contribution).count() == 1


def test_the_key_is_committed_before_the_call_and_no_transaction_is_open_during_it(
    payout_world, stripe_sandbox, monkeypatch
):
    from payments.stripe.provider import StripeProvider

    payout_world.consultant(["64.00"])
    batch = payout_world.executed_batch()
    [payment] = Payment.objects.filter(batch=batch)
    seen = {}
    real = StripeProvider.execute

    def spy(self, payment, attempt):
        seen["in_transaction"] = connection.in_atomic_block
        # Another connection sees only committed rows: the key must be there already.
        [seen["committed"]] = at_once(
            lambda: list(
                PaymentAttempt.objects.filter(idempotency_key=attempt.idempotency_key).values(
                    "status", "request"
                )
            )
        )
        seen["requests_before_call"] = len(stripe_sandbox.requests)
        return real(self, payment, attempt)

    monkeypatch.setattr(StripeProvider, "execute", spy)
    assert engine.pay(payment.pk) == "paid"
    assert seen["in_transaction"] is False
    [row] = seen["committed"]
    assert row["status"] == PaymentAttempt.Status.STARTED
    assert row["request"]["transfer_group"] == str(payment.public_id)
    assert seen["requests_before_call"] == 0


def test_the_same_event_delivered_twice_at_once_is_applied_once(payout_world, stripe_sandbox):
    import json
    import time

    from django.test import Client

    from payments.models import WebhookEvent
    from stripe_sandbox import sign
    from tests.stripe_sandbox.fixtures import WEBHOOK_SECRET

    payout_world.consultant(["64.00"])
    batch = payout_world.executed_batch()
    [payment] = Payment.objects.filter(batch=batch)
    assert engine.pay(payment.pk) == "paid"
    payment.refresh_from_db()
    from payments.stripe.client import stripe_client

    stripe_client().v1.transfers.reversals.create(payment.transfer_id)
    [transfer] = stripe_sandbox.transfers()
    raw = json.dumps(
        {
            "id": "evt_twice_at_once",
            "object": "event",
            "type": "transfer.reversed",
            "created": int(time.time()),
            "data": {"object": transfer},
        }
    ).encode()
    header = sign(raw, [WEBHOOK_SECRET], int(time.time()))

    def deliver():
        return (
            Client()
            .post(
                "/webhooks/stripe/",
                data=raw,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            .status_code
        )

    assert at_once(deliver, deliver, deliver) == [200, 200, 200]
    assert WebhookEvent.objects.filter(event_id="evt_twice_at_once").count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RETURNED
    assert payment.history.filter(history_action="payment.returned").count() == 1
