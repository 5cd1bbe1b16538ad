"""Hypothesis: generated fault schedules over a small batch; afterwards, exactly once.

Each example builds a batch of a few Stripe payments, lets the sandbox drop
connections before or after committing, answer 5xx (stored or with
Stripe-Should-Retry), 429, hold answers past the client's timeout and refuse for
insufficient balance, while webhooks are duplicated and reordered and delivered
(genuinely signed) between the task's runs. Tasks run until nothing is processing;
finance retries what failed once. Then Stripe's own dump must show, per consultant,
transfers equal to what was approved and paid, none twice, and every payment must
end paid, failed with a reason, or held with a reason.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import Payment, PaymentAttempt, WebhookEvent
from payments.services.finance import payment_retry
from payments.stripe import engine
from tests.stripe_sandbox.fixtures import WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
URL = "/webhooks/stripe/"

api_fault = st.one_of(
    st.fixed_dictionaries({"kind": st.just("drop_before")}),
    st.fixed_dictionaries({"kind": st.just("drop_after")}),
    st.fixed_dictionaries({"kind": st.just("rate_limit")}),
    st.fixed_dictionaries(
        {
            "kind": st.just("error"),
            "status": st.sampled_from([500, 503]),
            "should_retry": st.sampled_from([None, True, False]),
            "commit": st.booleans(),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("delay"),
            "delay_ms": st.integers(400, 700),
            "phase": st.sampled_from(["before_commit", "after_commit"]),
        }
    ),
    st.fixed_dictionaries({"kind": st.just("balance_insufficient")}),
)
scheduled = st.tuples(api_fault, st.integers(0, 3), st.integers(1, 2))  # fault, skip, times
webhook_plan = st.fixed_dictionaries(
    {
        "duplicate": st.integers(1, 3),
        "reorder": st.booleans(),
        "delay_ms": st.sampled_from([0, 30]),
    }
)
amounts = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("950.00"), places=2),
    min_size=1,
    max_size=2,
)


class Deliveries:
    """Hands what the sandbox delivered (in its order, with its copies) to Honora's view."""

    def __init__(self, receiver, client):
        self.receiver = receiver
        self.client = client
        self.done = 0

    def forward(self, sandbox) -> None:
        sandbox.webhooks.drain(timeout=60)
        received = self.receiver.received
        for delivery in received[self.done :]:
            response = self.client.post(
                URL,
                data=delivery["raw"],
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=delivery["signature"],
            )
            assert response.status_code == 200, response.content
        self.done = len(received)


def settle(payments, deliveries, sandbox, *, seconds: float = 25.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        open_ = list(Payment.objects.filter(pk__in=payments, status=PS.PROCESSING))
        if not open_:
            deliveries.forward(sandbox)
            return
        for p in open_:
            PaymentAttempt.objects.filter(payment=p).update(next_try_at=timezone.now())
            engine.pay(p.pk)
        deliveries.forward(sandbox)
        time.sleep(0.02)
    raise AssertionError("the batch did not settle")


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch_amounts=st.lists(amounts, min_size=2, max_size=3),
    faults=st.lists(scheduled, min_size=1, max_size=4),
    webhooks=webhook_plan,
    sdk_retries=st.sampled_from([0, 0, 1]),
)
def test_any_fault_schedule_pays_each_consultant_exactly_what_was_approved(
    payout_world, stripe_sandbox, webhook_receiver, client, settings_, batch_amounts, faults,
    webhooks, sdk_retries,
):  # fmt: skip
    stripe_sandbox.reset()
    webhook_receiver.received.clear()
    payout_world._phase = None  # each example's rows are rolled back at its end
    settings_.STRIPE_MAX_NETWORK_RETRIES = sdk_retries
    settings_.STRIPE_TIMEOUT = 0.3
    with transaction.atomic():
        consultants = [payout_world.consultant([str(a) for a in each]) for each in batch_amounts]
        approved = {
            c.pk: sum(each, Decimal("0.00"))
            for c, each in zip(consultants, batch_amounts, strict=True)
        }
        batch = payout_world.executed_batch()
        ids = list(Payment.objects.filter(batch=batch).values_list("pk", flat=True))

        for fault, skip, times in faults:
            options = dict(fault)
            kind = options.pop("kind")
            stripe_sandbox.faults.add(
                kind, method="POST", path="/v1/transfers", skip=skip, times=times, **options
            )
        if webhooks["duplicate"] > 1:
            stripe_sandbox.webhooks.faults.add(
                "duplicate", copies=webhooks["duplicate"], times=None
            )
        stripe_sandbox.webhooks.reorder = webhooks["reorder"]
        stripe_sandbox.webhooks.delay_ms = webhooks["delay_ms"]
        deliveries = Deliveries(webhook_receiver, client)

        settle(ids, deliveries, stripe_sandbox)
        for p in Payment.objects.filter(pk__in=ids, status=PS.FAILED):
            payment_retry(payment=p, by=payout_world.finance)  # finance tries once more
        settle(ids, deliveries, stripe_sandbox)
        for rule in stripe_sandbox.faults.rules:
            rule.release()

        check(payout_world, stripe_sandbox, ids, approved, deliveries)
        transaction.set_rollback(True)


def check(payout_world, sandbox, ids, approved, deliveries) -> None:
    payments = list(Payment.objects.filter(pk__in=ids).select_related("consultant__stripe_account"))
    assert sandbox.duplicate_live_transfers() == {}
    live = sandbox.live_transfers()
    groups = Counter(t["transfer_group"] for t in live)
    assert set(groups) <= {str(p.public_id) for p in payments}  # nothing paid outside a payment
    paid_cents: Counter = Counter()
    for t in live:
        paid_cents[t["destination"]] += t["amount"]
    for p in payments:
        group = str(p.public_id)
        account = p.consultant.stripe_account.account_id
        if p.status == PS.PAID:
            [t] = sandbox.live_transfers(group)
            assert t["id"] == p.transfer_id
            assert t["amount"] == int(p.amount * 100) == int(approved[p.consultant_id] * 100)
            assert paid_cents[account] == t["amount"]
        elif p.status == PS.FAILED:
            assert p.failure_code and p.failure_message
            assert groups[group] == 0 and paid_cents[account] == 0
        elif p.status == PS.HELD:
            assert p.hold_reason and p.hold_detail
            assert groups[group] == 0
        else:
            raise AssertionError(f"payment ended {p.status}")
        # Never a second key while an earlier key's outcome was unknown.
        attempts = list(p.attempts.order_by("number"))
        for earlier in attempts[:-1]:
            assert earlier.status == PaymentAttempt.Status.FAILED, earlier.error_code
    # Every delivered event stored once, whatever the copies.
    delivered = {d["event"]["id"] for d in deliveries.receiver.received}
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == delivered


@pytest.fixture
def settings_(settings):
    return settings


def test_the_webhook_receiver_is_registered(webhook_receiver, stripe_sandbox):
    # The receiver verifies nothing; Honora's view does (with the same secret).
    assert [e.secrets for e in stripe_sandbox.webhooks.endpoints] == [[WEBHOOK_SECRET]]
