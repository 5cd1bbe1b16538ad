"""The execution engine against the sandbox over real HTTP: every payment paid exactly once.

Each test pays a small batch through ``payments.engine.pay`` (what the
``pay_payment`` task runs) while the sandbox injects one kind of trouble, then
checks Stripe's own dump: one live transfer per payment, for its amount in cents.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.models import Contribution
from payments.models import Payment, PaymentAttempt, PayoutBatch
from payments.providers.base import ProviderError
from payments.services.finance import payment_retry
from payments.services.lifecycle import payment_record_failure, payment_record_transfer
from payments.stripe import engine
from payments.stripe.provider import to_cents

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
AS = PaymentAttempt.Status


def transfer_posts(sandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/v1/transfers"]


def group_lists(sandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["method"] == "GET" and r["path"] == "/v1/transfers"]


def fresh(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def make_due(payment) -> None:
    """Let a scheduled retry run now (what the deferred task waits for)."""
    PaymentAttempt.objects.filter(payment=payment).update(next_try_at=timezone.now())


def settle(payments, *, seconds: float = 15.0) -> None:
    """Run the task for every payment still processing until none is (what workers do)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = [p for p in payments if fresh(p).status == PS.PROCESSING]
        if not pending:
            return
        for p in pending:
            make_due(p)
            engine.pay(p.pk)
        time.sleep(0.05)
    raise AssertionError("payments did not settle")


@pytest.fixture
def batch(payout_world):
    payout_world.consultant(["125.00", "40.50"])
    payout_world.consultant(["300.00"])
    payout_world.consultant(["0.01"])
    return payout_world.executed_batch()


def payments_of(batch) -> list[Payment]:
    return list(Payment.objects.filter(batch=batch).order_by("id"))


# --- the plain path --------------------------------------------------------------------


def test_each_payment_becomes_one_transfer_with_the_exact_cents(
    batch, payout_world, stripe_sandbox, paid_hook, django_capture_on_commit_callbacks
):
    payments = payments_of(batch)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [engine.pay(p.pk) for p in payments]
    assert outcomes == ["paid"] * 3
    payout_world.assert_paid_exactly_once(payments)
    cents = sorted(t["amount"] for t in stripe_sandbox.live_transfers())
    assert cents == [1, 16550, 30000]
    for p in payments:
        p = fresh(p)
        [t] = stripe_sandbox.live_transfers(str(p.public_id))
        # Ids only in what Stripe stores: no name, no e-mail.
        assert t["metadata"] == {"honora_payment": str(p.public_id), "honora_attempt": "1"}
        assert p.consultant.display_name not in str(t)
        [attempt] = p.attempts.all()
        assert attempt.status == AS.SUCCEEDED
        assert attempt.provider_reference == p.transfer_id
        assert attempt.request["amount"] == t["amount"]
        assert p.paid_at is not None
        assert set(p.items.values_list("contribution__status", flat=True)) == {"paid"}
        assert p.history.filter(history_action="payment.paid").count() == 1
    assert sorted(paid_hook) == sorted(p.pk for p in payments)
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.COMPLETED
    # The key was stored with the attempt before the call and sent with it.
    keys = {r["idempotency_key"] for r in transfer_posts(stripe_sandbox)}
    assert keys == set(PaymentAttempt.objects.values_list("idempotency_key", flat=True))


def test_running_the_task_again_changes_nothing(batch, payout_world, stripe_sandbox):
    payments = payments_of(batch)
    for p in payments:
        assert engine.pay(p.pk) == "paid"
    calls = len(stripe_sandbox.requests)
    for p in payments:
        assert engine.pay(p.pk) == "skipped"
    assert len(stripe_sandbox.requests) == calls
    payout_world.assert_paid_exactly_once(payments)
    assert PaymentAttempt.objects.count() == 3


def test_cents_are_exact_and_nothing_else_is_sent():
    assert to_cents(Decimal("125.00"), "USD") == 12500
    assert to_cents(Decimal("0.01"), "usd") == 1
    assert to_cents(Decimal("1234567.89"), "USD") == 123456789
    assert to_cents(Decimal("0.1") + Decimal("0.2"), "USD") == 30
    refused = [
        (Decimal("10.005"), "USD", "amount_not_whole_cents"),
        (Decimal("0.00"), "USD", "amount_not_positive"),
        (Decimal("-5.00"), "USD", "amount_not_positive"),
        (Decimal("100"), "JPY", "currency_unsupported"),
        (Decimal("NaN"), "USD", "amount"),
        (10.5, "USD", "amount_not_decimal"),
        (10, "USD", "amount_not_decimal"),
    ]
    for amount, currency, code in refused:
        with pytest.raises(ProviderError) as caught:
            to_cents(amount, currency)
        assert caught.value.code == code, (amount, currency)


# --- outcome unknown: the same key again --------------------------------------------------


def test_lost_response_is_recorded_by_the_retry_with_the_same_key(
    batch, payout_world, stripe_sandbox
):
    """Stripe created the transfer, the answer never arrived: the retry gets it replayed."""
    [first, *others] = payments_of(batch)
    rule = stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    assert engine.pay(first.pk) == "retry"
    assert rule.fired == 1
    assert len(stripe_sandbox.live_transfers(str(first.public_id))) == 1  # it exists at Stripe
    attempt = PaymentAttempt.objects.get(payment=first)
    assert (attempt.status, attempt.error_code, attempt.tries) == (AS.UNKNOWN, "connection", 1)
    assert fresh(first).status == PS.PROCESSING and fresh(first).transfer_id == ""

    make_due(first)
    assert engine.pay(first.pk) == "paid"
    [post1, post2] = [r for r in transfer_posts(stripe_sandbox)]
    assert post1["idempotency_key"] == post2["idempotency_key"] == attempt.idempotency_key
    assert post1["dropped"] and post2["replayed"]
    for p in others:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments_of(batch))
    assert PaymentAttempt.objects.get(payment=first).tries == 2


def test_a_retry_is_enqueued_for_its_time_with_the_payment(batch, stripe_sandbox, settings):
    """Where the task backend can wait, the engine enqueues the payment's own retry.

    (The dummy backend of these tests can defer, as the database backend in production
    can. A retry enqueued without the payment's id would fail in the worker.)
    """
    from django_tasks import default_task_backend

    def retries():
        return [
            (r.args, r.task.run_after)
            for r in default_task_backend.results
            if r.task.name == "pay_payment"
        ]

    settings.PAYMENTS_RETRY_BASE_SECONDS = 60
    p = payments_of(batch)[0]
    default_task_backend.clear()
    # The transfer call gets no answer: its retry is scheduled.
    stripe_sandbox.faults.add("drop_before", method="POST", path="/v1/transfers")
    assert engine.pay(p.pk) == "retry"
    [(args, when)] = retries()
    assert args == [p.pk] and when > timezone.now()
    # Before a new key, Stripe is asked what exists; when it cannot be asked: again later.
    default_task_backend.clear()
    attempt = PaymentAttempt.objects.get(payment=p)
    trouble = ProviderError("Stripe is down", kind=ProviderError.UNKNOWN, code="api_error")
    assert engine._listing_failed(p.pk, attempt, trouble) == "retry"
    [(args, when)] = retries()
    assert args == [p.pk] and when > timezone.now()


def test_a_retry_scheduled_for_later_waits_for_its_time(batch, stripe_sandbox, settings):
    settings.PAYMENTS_RETRY_BASE_SECONDS = 60
    p = payments_of(batch)[0]
    stripe_sandbox.faults.add("drop_before", method="POST", path="/v1/transfers")
    assert engine.pay(p.pk) == "retry"
    attempt = PaymentAttempt.objects.get(payment=p)
    assert attempt.next_try_at > timezone.now() + timedelta(seconds=40)
    calls = len(stripe_sandbox.requests)
    assert engine.pay(p.pk) == "waiting"
    assert len(stripe_sandbox.requests) == calls
    make_due(p)
    assert engine.pay(p.pk) == "paid"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drop_before"},
        {"kind": "drop_after"},
        {"kind": "rate_limit"},
        {"kind": "error", "status": 503, "should_retry": True},
        {"kind": "error", "status": 500, "should_retry": True},
        {"kind": "delay", "delay_ms": 1500, "phase": "after_commit"},
        {"kind": "delay", "delay_ms": 1500, "phase": "before_commit"},
    ],
    ids=lambda f: "-".join(str(v) for v in f.values()),
)
def test_unknown_outcomes_end_in_one_transfer(batch, payout_world, stripe_sandbox, settings, fault):
    settings.STRIPE_TIMEOUT = 0.5  # a delayed answer times out
    options = dict(fault)
    kind = options.pop("kind")
    stripe_sandbox.faults.add(kind, method="POST", path="/v1/transfers", times=2, **options)
    payments = payments_of(batch)
    settle(payments)
    payout_world.assert_paid_exactly_once(payments)
    # Never a second key for a payment whose first key's outcome was unknown.
    assert set(PaymentAttempt.objects.values_list("number", flat=True)) == {1}


def test_the_sdk_retries_a_5xx_with_the_same_key(batch, payout_world, stripe_sandbox, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    stripe_sandbox.faults.add(
        "error", method="POST", path="/v1/transfers", status=500, should_retry=True, times=2
    )
    [first, *others] = payments_of(batch)
    assert engine.pay(first.pk) == "paid"  # within one task run: the SDK retried twice
    posts = transfer_posts(stripe_sandbox)
    assert [r["status"] for r in posts] == [500, 500, 200]
    assert len({r["idempotency_key"] for r in posts}) == 1
    for p in others:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments_of(batch))


def test_sdk_retries_and_task_retries_together_pay_once(
    batch, payout_world, stripe_sandbox, settings
):
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    settings.STRIPE_TIMEOUT = 0.5
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers", times=2)
    stripe_sandbox.faults.add("delay", method="POST", path="/v1/transfers", delay_ms=1200, times=2)
    payments = payments_of(batch)
    settle(payments)
    payout_world.assert_paid_exactly_once(payments)


def test_a_stored_5xx_ends_the_key_and_a_new_one_follows_only_after_listing(
    batch, payout_world, stripe_sandbox
):
    """A 500 Stripe keeps under the key replays forever: ask, then (nothing exists) a new key."""
    first = payments_of(batch)[0]
    stripe_sandbox.faults.add("error", method="POST", path="/v1/transfers", status=500)
    assert engine.pay(first.pk) == "retry"
    make_due(first)
    assert engine.pay(first.pk) == "paid"  # replayed 500 -> list -> new key -> paid
    a1, a2 = PaymentAttempt.objects.filter(payment=first).order_by("number")
    assert (a1.status, a1.error_code) == (AS.FAILED, "stored_error")
    assert a2.status == AS.SUCCEEDED and a1.idempotency_key != a2.idempotency_key
    kinds = [
        (r["method"], r["status"], r.get("replayed"))
        for r in stripe_sandbox.requests
        if r["path"] == "/v1/transfers"
    ]
    assert kinds == [
        ("POST", 500, False),
        ("POST", 500, True),
        ("GET", 200, False),
        ("POST", 200, False),
    ]
    for p in payments_of(batch)[1:]:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments_of(batch))


def test_a_5xx_after_the_transfer_was_made_is_adopted_not_repeated(
    batch, payout_world, stripe_sandbox
):
    first = payments_of(batch)[0]
    stripe_sandbox.faults.add("error", method="POST", path="/v1/transfers", status=500, commit=True)
    assert engine.pay(first.pk) == "retry"
    make_due(first)
    assert engine.pay(first.pk) == "paid"
    [attempt] = PaymentAttempt.objects.filter(payment=first)
    assert attempt.status == AS.SUCCEEDED
    assert (
        fresh(first)
        .history.filter(
            history_action="payment.paid",
            history_change_reason="found by listing the transfer group",
        )
        .exists()
    )
    for p in payments_of(batch)[1:]:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments_of(batch))


def test_an_old_key_is_not_reused_blindly(batch, payout_world, stripe_sandbox):
    """Stripe may forget a key after 24 hours: past 20, Honora lists before calling again."""
    first, second = payments_of(batch)[:2]
    stripe_sandbox.faults.add("drop_before", method="POST", path="/v1/transfers")
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    assert engine.pay(first.pk) == "retry"  # nothing created
    assert engine.pay(second.pk) == "retry"  # created, answer lost
    long_ago = timezone.now() - timedelta(hours=21)
    PaymentAttempt.objects.update(started_at=long_ago, next_try_at=timezone.now())
    assert engine.pay(first.pk) == "paid"
    assert engine.pay(second.pk) == "paid"
    a1, a2 = PaymentAttempt.objects.filter(payment=first).order_by("number")
    assert (a1.error_code, a2.status) == ("key_expired", AS.SUCCEEDED)
    [b1] = PaymentAttempt.objects.filter(payment=second)  # adopted, no new key
    assert b1.status == AS.SUCCEEDED
    engine.pay(payments_of(batch)[2].pk)
    payout_world.assert_paid_exactly_once(payments_of(batch))


# --- refusals: the payment fails with its reason ------------------------------------------


def test_balance_insufficient_fails_with_reason_then_retry_lists_before_a_new_key(
    batch, payout_world, stripe_sandbox, finance, django_capture_on_commit_callbacks
):
    first = payments_of(batch)[0]
    stripe_sandbox.faults.add("balance_insufficient")
    assert engine.pay(first.pk) == "failed"
    p = fresh(first)
    assert (p.status, p.failure_code) == (PS.FAILED, "balance_insufficient")
    assert "balance is too low" in p.failure_message
    [a1] = p.attempts.all()
    assert (a1.status, a1.error_code) == (AS.FAILED, "balance_insufficient")
    assert stripe_sandbox.live_transfers(str(p.public_id)) == []
    assert engine.pay(first.pk) == "skipped"  # a failed payment waits for finance

    with django_capture_on_commit_callbacks(execute=False):
        payment_retry(payment=p, by=finance)
    assert fresh(first).status == PS.PROCESSING
    before = len(stripe_sandbox.requests)
    assert engine.pay(first.pk) == "paid"
    after = stripe_sandbox.requests[before:]
    assert [(r["method"], r["path"]) for r in after] == [
        ("GET", "/v1/transfers"),
        ("POST", "/v1/transfers"),
    ]
    a1, a2 = fresh(first).attempts.order_by("number")
    assert a2.idempotency_key != a1.idempotency_key and a2.status == AS.SUCCEEDED
    for p in payments_of(batch)[1:]:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments_of(batch))


def test_a_retry_finds_the_transfer_an_earlier_attempt_made(batch, stripe_sandbox, finance):
    """If a transfer exists for a failed payment, the retry records it and sends nothing."""
    p = payments_of(batch)[0]
    stripe_sandbox.faults.add("balance_insufficient")
    engine.pay(p.pk)
    # Somehow a transfer for this payment exists (made outside this attempt).
    account = fresh(p).consultant.stripe_account.account_id
    stripe_sandbox.state.transfers  # noqa: B018 - the sandbox's own store
    from payments.stripe.client import stripe_client

    made = stripe_client().v1.transfers.create(
        params={
            "amount": to_cents(p.amount, "USD"),
            "currency": "usd",
            "destination": account,
            "transfer_group": str(p.public_id),
            "metadata": {"honora_payment": str(p.public_id), "honora_attempt": "1"},
            "source_type": "bank_account",
        }
    )
    payment_retry(payment=fresh(p), by=finance)
    posts = len(transfer_posts(stripe_sandbox))
    assert engine.pay(p.pk) == "paid"
    assert len(transfer_posts(stripe_sandbox)) == posts
    assert fresh(p).transfer_id == made.id
    assert fresh(p).attempts.count() == 1


def test_an_account_that_cannot_receive_fails_with_a_clear_reason(batch, stripe_sandbox):
    p = payments_of(batch)[0]
    stripe_sandbox.faults.add("cannot_receive")
    assert engine.pay(p.pk) == "failed"
    p = fresh(p)
    assert p.failure_code == "insufficient_capabilities_for_transfer"
    assert "cannot receive transfers" in p.failure_message


def test_bad_credentials_fail_as_configuration_without_personal_data_in_logs(
    batch, stripe_sandbox, settings, caplog
):
    settings.STRIPE_SECRET_KEY = "pk_test_not_a_secret_key"
    p = payments_of(batch)[0]
    with caplog.at_level(logging.INFO):
        assert engine.pay(p.pk) == "failed"
    p = fresh(p)
    assert p.failure_code == "stripe_credentials"
    assert "administrator must fix the Stripe configuration" in p.failure_message
    assert "stripe configuration" in caplog.text
    assert p.consultant.display_name not in caplog.text
    assert stripe_sandbox.live_transfers() == []


def test_an_idempotency_error_is_a_bug_never_a_new_key(batch, stripe_sandbox, caplog):
    p = payments_of(batch)[0]
    stripe_sandbox.faults.add("drop_before", method="POST", path="/v1/transfers")
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    assert engine.pay(p.pk) == "retry"
    assert engine.pay(p.pk) == "retry"  # made, answer lost
    # A bug changes the request stored under the key.
    attempt = PaymentAttempt.objects.get(payment=p)
    attempt.request = {**attempt.request, "amount": attempt.request["amount"] + 1}
    attempt.save()
    make_due(p)
    with caplog.at_level(logging.ERROR):
        assert engine.pay(p.pk) == "failed"
    p = fresh(p)
    assert p.failure_code == "idempotency_error"
    assert "a bug" in p.failure_message
    assert "idempotency_error" in caplog.text
    assert p.attempts.count() == 1  # no new key was minted
    assert len(stripe_sandbox.live_transfers(str(p.public_id))) == 1


# --- what never gets paid ------------------------------------------------------------------


def test_an_account_that_is_no_longer_ready_is_held_before_any_key(batch, stripe_sandbox):
    p = payments_of(batch)[0]
    p.consultant.stripe_account.__class__.objects.filter(pk=p.consultant.stripe_account.pk).update(
        payouts_enabled=False
    )
    assert engine.pay(p.pk) == "held"
    p = fresh(p)
    assert (p.status, p.hold_reason) == (PS.HELD, Payment.Hold.ACCOUNT_NOT_READY)
    assert p.hold_detail
    assert p.attempts.count() == 0
    assert stripe_sandbox.requests == []


def test_held_pending_and_closed_payments_are_never_sent(payout_world, stripe_sandbox, finance):
    payout_world.consultant(["50.00"], onboarded=False)  # held at build: account not ready
    payout_world.consultant(["60.00"])
    batch = payout_world.approved_batch()
    held, pending = sorted(payments_of(batch), key=lambda p: p.status)
    assert (held.status, pending.status) == (PS.HELD, PS.PENDING)
    assert engine.pay(held.pk) == "skipped"
    assert engine.pay(pending.pk) == "skipped"  # approved, not executed
    with pytest.raises(StateConflict):
        payment_retry(payment=held, by=finance)
    with pytest.raises(StateConflict):
        payment_record_transfer(payment=held, transfer_id="tr_x", source="test")
    assert stripe_sandbox.requests == []
    assert fresh(held).status == PS.HELD and fresh(held).attempts.count() == 0


def test_retry_is_for_finance_and_never_for_ones_own_payment(payout_world, finance, finance2):
    from tests.factories import UserFactory

    me = UserFactory(roles=["finance"])
    payout_world.consultant(["80.00"], user=me)
    batch = payout_world.executed_batch()
    p = payments_of(batch)[0]
    payment_record_failure(payment=p, code="balance_insufficient", message="Too low.")
    with pytest.raises(NotAllowed):
        payment_retry(payment=p, by=me)
    with pytest.raises(NotAllowed):
        payment_retry(payment=p, by=payout_world.coordinator)
    assert fresh(p).status == PS.FAILED
    payment_retry(payment=p, by=finance2)
    assert fresh(p).status == PS.PROCESSING


def test_retry_reopens_a_batch_that_completed_with_failures(
    batch, stripe_sandbox, finance, django_capture_on_commit_callbacks
):
    stripe_sandbox.faults.add("balance_insufficient")
    with django_capture_on_commit_callbacks(execute=True):
        for p in payments_of(batch):
            engine.pay(p.pk)
    b = PayoutBatch.objects.get(pk=batch.pk)
    assert b.status == PayoutBatch.Status.COMPLETED_WITH_FAILURES
    failed = fresh(payments_of(batch)[0])
    assert failed.status == PS.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        payment_retry(payment=failed, by=finance)
        assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.PROCESSING
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.pay(failed.pk) == "paid"
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.COMPLETED
    statuses = set(fresh(failed).items.values_list("contribution__status", flat=True))
    assert statuses == {Contribution.Status.PAID}


def test_manual_payments_are_not_retried_or_sent(payout_world, finance):
    from consultants.models import PayoutMethod
    from tests.factories import ConsultantFactory

    payout_world.consultant(["70.00"])
    c = ConsultantFactory(payout_method=PayoutMethod.CHECK)
    from engagements.models import Contribution as C
    from tests.factories import ContributionFactory, EngagementFactory

    ContributionFactory(
        engagement=EngagementFactory(consultant=c, phase=payout_world.phase),
        kind=C.Kind.HONORARIUM,
        quantity=Decimal("1"),
        amount=Decimal("20.00"),
        status=C.Status.APPROVED,
        logged_by=payout_world.coordinator,
        approved_by=payout_world.finance2,
        approved_at=timezone.now(),
    )
    batch = payout_world.executed_batch()
    check = Payment.objects.get(batch=batch, consultant=c)
    assert check.status == PS.PROCESSING
    assert engine.pay(check.pk) == "skipped"
    with pytest.raises(ValidationFailed):
        payment_retry(payment=check, by=finance)


# --- a worker that dies, a task that is lost ------------------------------------------------


IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_a_worker_dying_between_the_call_and_the_commit_is_recovered_by_the_sweep(
    batch, payout_world, stripe_sandbox, monkeypatch, settings
):
    first = payments_of(batch)[0]

    def killed(*args, **kwargs):
        raise SystemExit("the worker was killed after Stripe answered")

    monkeypatch.setattr(engine, "_record_success", killed)
    with pytest.raises(SystemExit):
        engine.pay(first.pk)
    monkeypatch.undo()
    assert len(stripe_sandbox.live_transfers(str(first.public_id))) == 1
    attempt = PaymentAttempt.objects.get(payment=first)
    assert attempt.status == AS.STARTED and attempt.claimed_until > timezone.now()
    assert fresh(first).status == PS.PROCESSING

    # While the dead worker's claim lasts nobody calls with its key, and the sweep waits.
    assert engine.pay(first.pk) == "busy"
    assert first.pk not in engine.stuck_payments(stale_after=0)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert first.pk in engine.stuck_payments(stale_after=0)

    settings.TASKS = IMMEDIATE
    result = engine.sweep(stale_after=0)
    assert result["enqueued"] == 3  # the dead worker's, and the two never started
    payout_world.assert_paid_exactly_once(payments_of(batch))
    [attempt] = PaymentAttempt.objects.filter(payment=first)
    assert attempt.tries == 2 and attempt.status == AS.SUCCEEDED
    assert engine.stuck_payments(stale_after=0) == []


def test_the_sweep_leaves_fresh_and_scheduled_payments_alone(batch, stripe_sandbox, settings):
    settings.PAYMENTS_RETRY_BASE_SECONDS = 60
    first, second, third = payments_of(batch)
    stripe_sandbox.faults.add("drop_before", method="POST", path="/v1/transfers")
    assert engine.pay(first.pk) == "retry"  # scheduled a minute from now
    assert engine.stuck_payments() == []  # nothing is five minutes old
    assert engine.stuck_payments(stale_after=0) == [second.pk, third.pk]


def test_the_sweep_command_reports_what_it_did(batch, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.TASKS = IMMEDIATE
    out = StringIO()
    call_command("payments_sweep", "--stale-seconds", "0", stdout=out)
    assert "3 payment(s) enqueued again" in out.getvalue()
    assert set(Payment.objects.values_list("status", flat=True)) == {PS.PAID}


def test_the_sweep_issues_the_receipt_a_dead_worker_never_enqueued(batch, paid_hook, settings):
    # Paying commits, then enqueues the receipt: a worker killed in between (bench/cluster.py
    # did it) leaves a paid payment without a receipt, which only the sweep can find.
    from payments.documents.receipts import receipt_issue

    settings.TASKS = IMMEDIATE
    engine.sweep(stale_after=0)
    paid = [p.pk for p in payments_of(batch)]
    assert set(Payment.objects.filter(pk__in=paid).values_list("status", flat=True)) == {PS.PAID}
    paid_hook.clear()  # the receipts the payments asked for were lost with the worker

    assert engine.stuck_receipts() == []  # just paid: a worker may still be issuing them
    assert engine.stuck_receipts(stale_after=0) == sorted(paid)
    assert engine.sweep(stale_after=0)["receipts"] == len(paid)
    assert sorted(paid_hook) == sorted(paid)

    receipt_issue(payment_id=paid[0])  # what the task does: issued and rendered
    assert engine.stuck_receipts(stale_after=0) == sorted(paid[1:])


def test_the_task_runs_the_engine(batch, payout_world, settings):
    from payments.tasks import pay_payment

    settings.TASKS = IMMEDIATE
    results = [pay_payment.enqueue(p.pk) for p in payments_of(batch)]
    assert [r.return_value for r in results] == ["paid"] * 3
    payout_world.assert_paid_exactly_once(payments_of(batch))
