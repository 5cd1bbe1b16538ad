"""The guards against paying twice (or paying what should wait), against the sandbox.

Each test drives the real services, engine and webhook view, with Stripe played by
the local sandbox over HTTP, and checks both Honora's records and Stripe's own dump
of transfers: no payment ever has two live transfers, and no work is released to be
paid again while money for it may still sit with the consultant.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consultants.models import CapPeriod, PayoutMethod, TaxForm
from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.models import Contribution, Engagement
from payments.models import Payment, PaymentAttempt, PaymentItem, PayoutBatch, WebhookEvent
from payments.services.batches import batch_build, batch_cancel, batch_execute
from payments.services.finance import (
    needs_stripe_check,
    payment_cancel,
    payment_check_with_stripe,
    payment_mark_returned,
    payment_record_manual,
    payment_release_hold,
    payment_retry,
)
from payments.services.lifecycle import (
    payment_flag,
    payment_record_failure,
    refresh_batch_when_done,
)
from payments.stripe import engine
from payments.stripe.accounts import stripe_account_refresh
from stripe_sandbox import sign
from tests.api.conftest import client_for
from tests.factories import ContributionFactory
from tests.payments.payout_support import consultant_with_work, executed_batch
from tests.stripe_sandbox.fixtures import API_KEY, WEBHOOK_SECRET

from .test_webhooks import URL, event, payout_event, post, transfer_obj

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
AS = PaymentAttempt.Status
BS = PayoutBatch.Status
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def fresh(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def only_payment(batch) -> Payment:
    [payment] = Payment.objects.filter(batch=batch)
    return payment


def transfer_posts(sandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/v1/transfers"]


def make_due(payment) -> None:
    PaymentAttempt.objects.filter(payment=payment).update(next_try_at=timezone.now())


def live_items(payment) -> int:
    return PaymentItem.objects.filter(payment=payment, live=True).count()


def contribution_statuses(payment) -> set[str]:
    return set(
        Contribution.objects.filter(payment_items__payment=payment).values_list("status", flat=True)
    )


def enqueued(task_name: str) -> list[list]:
    from django_tasks import default_task_backend

    return [r.args for r in default_task_backend.results if r.task.name == task_name]


def more_work(world, consultant, amount: str) -> Contribution:
    """Another approved contribution for ``consultant`` (outside any batch yet)."""
    return ContributionFactory(
        engagement=Engagement.objects.filter(consultant=consultant).first(),
        kind=Contribution.Kind.HONORARIUM,
        quantity=Decimal("1"),
        rate=Decimal(amount),
        amount=Decimal(amount),
        status=Contribution.Status.APPROVED,
        logged_by=world.coordinator,
        approved_by=world.finance2,
        approved_at=timezone.now(),
        date=date(2026, 3, 14),
    )


def no_w9(consultant) -> None:
    TaxForm.objects.filter(consultant=consultant).update(status=TaxForm.Status.MISSING)


@pytest.fixture
def threshold_600(settings):
    settings.TAX_FORM_THRESHOLDS = {2020: Decimal("600.00")}
    settings.TAX_FORM_ORG_THRESHOLD = None


@pytest.fixture
def processing(payout_world):
    """One Stripe payment, started, not sent yet."""
    payout_world.consultant(["125.00", "40.50"])
    return only_payment(payout_world.executed_batch())


@pytest.fixture
def paid(processing):
    assert engine.pay(processing.pk) == "paid"
    return fresh(processing)


def unknown_then_refused(payment, sandbox, settings, *, created: bool) -> None:
    """A first call whose outcome is lost, then a refusal under the same key.

    ``created``: the lost call made the transfer (the answer was dropped after the
    commit); else nothing was made (dropped before). The refusal is then bad
    credentials (never stored by Stripe) or ``balance_insufficient``.
    """
    kind = "drop_after" if created else "drop_before"
    sandbox.faults.add(kind, method="POST", path="/v1/transfers")
    assert engine.pay(payment.pk) == "retry"
    make_due(payment)
    if created:
        settings.STRIPE_SECRET_KEY = "pk_test_not_a_secret_key"
    else:
        sandbox.faults.add("balance_insufficient")
    assert engine.pay(payment.pk) == "failed"
    settings.STRIPE_SECRET_KEY = API_KEY


# --- 1 and 2. a failed payment that was sent: Stripe is asked before anything else --------


def test_a_refusal_after_an_unknown_outcome_leaves_the_attempt_unknown(
    processing, stripe_sandbox, settings
):
    unknown_then_refused(processing, stripe_sandbox, settings, created=False)
    p = fresh(processing)
    assert p.status == PS.FAILED
    assert p.failure_code == "balance_insufficient"
    assert "check with Stripe before cancelling" in p.failure_message
    [attempt] = p.attempts.all()
    assert attempt.status == AS.UNKNOWN  # never "failed": a transfer could exist
    assert attempt.finished_at is not None
    assert attempt.claimed_until is None
    assert attempt.history.filter(history_action="payment_attempt.unknown").count() == 2
    assert not attempt.history.filter(history_action="payment_attempt.failed").exists()
    assert needs_stripe_check(p)


def test_cancelling_a_sent_payment_waits_for_stripe_then_releases_its_work(
    processing, stripe_sandbox, settings, finance, django_capture_on_commit_callbacks
):
    unknown_then_refused(processing, stripe_sandbox, settings, created=False)
    p = fresh(processing)
    with pytest.raises(StateConflict) as caught:
        payment_cancel(payment=p, by=finance, reason="Paid by check instead")
    assert caught.value.code == "check_with_stripe"
    assert "Check with Stripe" in caught.value.message
    p = fresh(p)
    assert p.status == PS.FAILED and live_items(p) == 2

    with django_capture_on_commit_callbacks(execute=True):
        payment_check_with_stripe(payment=p, by=finance)
    assert [p.pk] in enqueued("check_with_stripe")
    assert (
        fresh(p)
        .history.filter(history_action="payment.stripe_check_requested", history_user=finance)
        .exists()
    )

    before = len(stripe_sandbox.requests)
    assert engine.check_with_stripe(p.pk) == "nothing at Stripe"
    asked = stripe_sandbox.requests[before:]
    assert [(r["method"], r["path"]) for r in asked] == [("GET", "/v1/transfers")]
    p = fresh(p)
    assert p.status == PS.FAILED and p.stripe_checked_at is not None
    assert not needs_stripe_check(p)

    payment_cancel(payment=p, by=finance, reason="Paid by check instead")
    p = fresh(p)
    assert (p.status, p.closed_reason) == (PS.CANCELLED, "Paid by check instead")
    assert live_items(p) == 0
    assert contribution_statuses(p) == {Contribution.Status.APPROVED}
    assert stripe_sandbox.live_transfers() == []


def test_checking_with_stripe_adopts_a_transfer_that_exists(
    processing, stripe_sandbox, settings, finance
):
    unknown_then_refused(processing, stripe_sandbox, settings, created=True)
    p = fresh(processing)
    assert p.status == PS.FAILED and p.failure_code == "stripe_credentials"
    [made] = stripe_sandbox.live_transfers(str(p.public_id))  # the lost answer's transfer
    assert p.attempts.get().status == AS.UNKNOWN
    with pytest.raises(StateConflict) as caught:
        payment_cancel(payment=p, by=finance, reason="Give up")
    assert caught.value.code == "check_with_stripe"

    posts = len(transfer_posts(stripe_sandbox))
    assert engine.check_with_stripe(p.pk) == "paid"
    p = fresh(p)
    assert (p.status, p.transfer_id) == (PS.PAID, made["id"])
    assert p.failure_code == ""
    assert p.attempts.get().status == AS.SUCCEEDED
    assert contribution_statuses(p) == {Contribution.Status.PAID}
    assert len(transfer_posts(stripe_sandbox)) == posts  # nothing new was sent
    assert stripe_sandbox.duplicate_live_transfers() == {}
    assert len(stripe_sandbox.live_transfers()) == 1
    # It is paid now: nothing to check, nothing to cancel.
    assert engine.check_with_stripe(p.pk) == "skipped"
    with pytest.raises(StateConflict):
        payment_cancel(payment=p, by=finance, reason="Give up")


def test_a_retry_after_an_unknown_outcome_lists_first_and_adopts(
    processing, stripe_sandbox, settings, finance
):
    unknown_then_refused(processing, stripe_sandbox, settings, created=True)
    p = fresh(processing)
    payment_retry(payment=p, by=finance)
    before = len(stripe_sandbox.requests)
    assert engine.pay(p.pk) == "paid"
    asked = [(r["method"], r["path"]) for r in stripe_sandbox.requests[before:]]
    assert asked == [("GET", "/v1/transfers")]  # listed, found it, sent nothing
    p = fresh(p)
    [live] = stripe_sandbox.live_transfers()
    assert (p.status, p.transfer_id) == (PS.PAID, live["id"])
    assert p.attempts.count() == 1 and p.attempts.get().status == AS.SUCCEEDED


def test_a_retry_after_an_unknown_outcome_with_nothing_made_pays_once(
    processing, stripe_sandbox, settings, finance
):
    unknown_then_refused(processing, stripe_sandbox, settings, created=False)
    p = fresh(processing)
    payment_retry(payment=p, by=finance)
    before = len(stripe_sandbox.requests)
    assert engine.pay(p.pk) == "paid"
    asked = [(r["method"], r["path"]) for r in stripe_sandbox.requests[before:]]
    assert asked == [("GET", "/v1/transfers"), ("POST", "/v1/transfers")]
    a1, a2 = fresh(p).attempts.order_by("number")
    assert a1.status == AS.FAILED and a2.status == AS.SUCCEEDED
    assert a1.idempotency_key != a2.idempotency_key
    [live] = stripe_sandbox.live_transfers()
    assert live["amount"] == 16550 and fresh(p).transfer_id == live["id"]


def test_a_failed_payment_never_sent_is_cancelled_directly(processing, finance, stripe_sandbox):
    payment_record_failure(payment=processing, code="amount", message="Bad amount.")
    p = fresh(processing)
    assert not p.attempts.exists()
    assert not needs_stripe_check(p)
    payment_cancel(payment=p, by=finance, reason="Wrong amount")
    p = fresh(p)
    assert p.status == PS.CANCELLED and live_items(p) == 0
    assert contribution_statuses(p) == {Contribution.Status.APPROVED}
    assert stripe_sandbox.requests == []


def test_only_finance_checks_and_only_failed_stripe_payments(
    processing, stripe_sandbox, settings, finance, coordinator
):
    with pytest.raises(StateConflict):  # processing: nothing to check yet
        payment_check_with_stripe(payment=processing, by=finance)
    unknown_then_refused(processing, stripe_sandbox, settings, created=False)
    with pytest.raises(NotAllowed):
        payment_check_with_stripe(payment=processing, by=coordinator)
    assert (
        not fresh(processing)
        .history.filter(history_action="payment.stripe_check_requested")
        .exists()
    )


# --- 3. a failed bank payout: the transfer comes back before the work is paid again -------


def failed_payout(client, paid, stripe_sandbox) -> None:
    account_id = paid.consultant.stripe_account.account_id
    payout = stripe_sandbox.create_payout(account_id, 16550)
    failed = stripe_sandbox.payout_failed(payout["id"], "account_closed")
    response = post(client, payout_event(stripe_sandbox, failed, "payout.failed"))
    assert response.status_code == 200


def test_a_failed_payout_holds_the_work_until_the_reversal_is_confirmed(
    client, paid, payout_world, stripe_sandbox
):
    failed_payout(client, paid, stripe_sandbox)
    p = fresh(paid)
    assert (p.status, p.reversal_status) == (PS.RETURNED, "pending")
    assert live_items(p) == 2  # not released: the money is still with the consultant
    with pytest.raises(ValidationFailed) as caught:
        payout_world.approved_batch()
    assert caught.value.code == "nothing_to_pay"

    assert engine.reverse(p.pk) == "reversed"
    p = fresh(p)
    assert p.reversal_status == "done" and p.reversal_id.startswith("trr_")
    assert live_items(p) == 0
    assert contribution_statuses(p) == {Contribution.Status.APPROVED}
    assert stripe_sandbox.live_transfers() == []
    assert engine.reverse(p.pk) == "nothing to reverse"

    again = only_payment(payout_world.executed_batch())
    assert again.amount == Decimal("165.50")
    assert engine.pay(again.pk) == "paid"
    [live] = stripe_sandbox.live_transfers()
    assert live["transfer_group"] == str(again.public_id)
    assert stripe_sandbox.duplicate_live_transfers() == {}


def test_a_transfer_reversed_event_confirms_the_reversal(client, paid, stripe_sandbox):
    from payments.stripe.client import stripe_client

    failed_payout(client, paid, stripe_sandbox)
    assert live_items(paid) == 2
    stripe_client().v1.transfers.reversals.create(paid.transfer_id)
    response = post(client, event("transfer.reversed", transfer_obj(stripe_sandbox, paid)))
    assert response.status_code == 200
    p = fresh(paid)
    assert p.reversal_status == "done" and p.status == PS.RETURNED
    assert live_items(p) == 0
    outcome = WebhookEvent.objects.get(type="transfer.reversed").outcome
    assert outcome == "reversal confirmed: work released"


def test_a_refused_reversal_keeps_the_work_and_is_tried_again_by_the_sweep(
    client, paid, stripe_sandbox
):
    failed_payout(client, paid, stripe_sandbox)
    rule = stripe_sandbox.faults.add(
        "balance_insufficient", method="POST", path="/v1/transfers/*/reversals"
    )
    assert engine.reverse(paid.pk) == "not reversed: balance_insufficient"
    assert rule.fired == 1
    p = fresh(paid)
    assert (p.reversal_status, p.reversal_refusals) == ("failed", 1)
    assert p.reversal_error.startswith("balance_insufficient")
    assert live_items(p) == 2 and p.status == PS.RETURNED
    assert stripe_sandbox.live_transfers(str(p.public_id))  # the money is still out

    assert engine.stuck_reversals(stale_after=0) == [p.pk]
    assert engine.sweep(stale_after=0)["reversals"] == 1
    assert [p.pk] in enqueued("reverse_transfer")

    # The next try uses a new key (Stripe stored the refusal under the old one).
    assert engine.reverse(p.pk) == "reversed"
    keys = [
        r["idempotency_key"]
        for r in stripe_sandbox.requests
        if r["method"] == "POST" and r["path"].endswith("/reversals")
    ]
    assert keys == [f"honora-reverse-{p.public_id}", f"honora-reverse-{p.public_id}-1"]
    p = fresh(p)
    assert p.reversal_status == "done" and p.reversal_error == ""
    assert live_items(p) == 0
    assert stripe_sandbox.live_transfers() == []
    assert engine.stuck_reversals(stale_after=0) == []


# --- 4. pre-flight counts the money on its way ---------------------------------------------


def test_money_on_its_way_counts_towards_the_w9_threshold(payout_world, threshold_600):
    consultant = payout_world.consultant(["400.00"])
    no_w9(consultant)
    first = only_payment(payout_world.approved_batch())
    assert first.status == PS.PENDING  # $400 alone is under the threshold
    more_work(payout_world, consultant, "300.00")
    second = only_payment(payout_world.approved_batch())
    assert (second.status, second.hold_reason) == (PS.HELD, Payment.Hold.W9_MISSING)
    assert "$700.00" in second.hold_detail and "$600.00" in second.hold_detail


def test_money_on_its_way_counts_towards_the_benefits_cap(payout_world):
    consultant = payout_world.consultant(["400.00"])
    consultant.benefits_cap_amount = Decimal("500.00")
    consultant.benefits_cap_period = CapPeriod.YEARLY
    consultant.save(update_fields=["benefits_cap_amount", "benefits_cap_period"])
    first = only_payment(payout_world.executed_batch())
    assert first.status == PS.PROCESSING  # started, not paid yet
    more_work(payout_world, consultant, "300.00")
    second = only_payment(payout_world.approved_batch())
    assert (second.status, second.hold_reason) == (PS.HELD, Payment.Hold.BENEFITS_CAP)
    assert "$400.00" in second.hold_detail and "$500.00" in second.hold_detail


def test_executing_checks_again_what_was_paid_since_the_batch_was_built(
    payout_world, threshold_600, stripe_sandbox, finance
):
    consultant = payout_world.consultant(["400.00"])
    earlier = payout_world.approved_batch()
    assert only_payment(earlier).status == PS.PENDING
    # Another batch pays the consultant meanwhile (a W-9 was on file then).
    more_work(payout_world, consultant, "300.00")
    other = only_payment(payout_world.executed_batch())
    assert engine.pay(other.pk) == "paid"
    # The W-9 turns out to need correction: $300 paid plus $400 now crosses the line.
    TaxForm.objects.filter(consultant=consultant).update(status=TaxForm.Status.INVALID)

    batch_execute(batch=earlier, by=finance)
    p = only_payment(earlier)
    assert (p.status, p.hold_reason) == (PS.HELD, Payment.Hold.W9_MISSING)
    assert "$700.00" in p.hold_detail
    assert p.history.filter(history_action="payment.held", history_user=finance).exists()
    assert engine.pay(p.pk) == "skipped"
    assert [t["transfer_group"] for t in stripe_sandbox.live_transfers()] == [str(other.public_id)]


# --- 5. releasing a hold -------------------------------------------------------------------


def test_releasing_a_hold_in_a_completed_batch_reopens_it_and_pays(
    payout_world, stripe_sandbox, finance, django_capture_on_commit_callbacks
):
    payout_world.consultant(["50.00"])
    waiting = payout_world.consultant(["70.00"], onboarded=False)
    batch = payout_world.executed_batch()
    held = Payment.objects.get(batch=batch, consultant=waiting)
    ready = Payment.objects.get(batch=batch, consultant__stripe_account__payouts_enabled=True)
    assert held.status == PS.HELD
    assert engine.pay(ready.pk) == "paid"
    refresh_batch_when_done(batch.pk)
    assert PayoutBatch.objects.get(pk=batch.pk).status == BS.COMPLETED_WITH_FAILURES

    account_id = payout_world.account_id(waiting)
    stripe_sandbox.complete_onboarding(account_id)
    stripe_account_refresh(account_id=account_id)
    with django_capture_on_commit_callbacks(execute=True):
        payment_release_hold(payment=held, by=finance)
    b = PayoutBatch.objects.get(pk=batch.pk)
    assert b.status == BS.PROCESSING and b.completed_at is None
    assert b.history.filter(history_action="batch.reopened", history_user=finance).exists()
    assert fresh(held).status == PS.PROCESSING
    assert [held.pk] in enqueued("pay_payment")

    with django_capture_on_commit_callbacks(execute=True):
        assert engine.pay(held.pk) == "paid"
    assert PayoutBatch.objects.get(pk=batch.pk).status == BS.COMPLETED
    payout_world.assert_paid_exactly_once([ready, held])


def test_nobody_releases_a_payment_to_themselves(payout_world, finance2):
    payout_world.consultant(["70.00"], onboarded=False, user=finance2)
    batch = batch_build(by=payout_world.finance, cutoff_date=date(2026, 3, 31))
    held = only_payment(batch)
    assert held.status == PS.HELD
    with pytest.raises(NotAllowed) as caught:
        payment_release_hold(payment=held, by=finance2)
    assert caught.value.code == "own_payment"
    assert fresh(held).status == PS.HELD
    assert not fresh(held).history.filter(history_action="payment.hold_released").exists()


# --- 6. cancelling a batch -------------------------------------------------------------------


def test_a_batch_with_a_payment_under_way_is_not_cancelled(payout_world, finance2):
    payout_world.consultant(["50.00"])
    payout_world.consultant(["60.00"])
    batch = payout_world.approved_batch()
    first, second = Payment.objects.filter(batch=batch).order_by("pk")
    # A payment started although its batch is only approved (should never be): money
    # may be on its way, so nothing in the batch is cancelled.
    Payment.objects.filter(pk=first.pk).update(status=PS.PROCESSING)
    with pytest.raises(StateConflict) as caught:
        batch_cancel(batch=batch, by=finance2, reason="Duplicate")
    assert caught.value.code == "payments_under_way"
    assert PayoutBatch.objects.get(pk=batch.pk).status == BS.APPROVED
    assert fresh(second).status == PS.PENDING and live_items(second) == 1
    assert live_items(first) == 1


def test_an_earlier_cancelled_payment_keeps_its_own_reason(payout_world, finance, finance2):
    payout_world.consultant(["50.00"])
    waiting = payout_world.consultant(["60.00"], onboarded=False)
    batch = payout_world.approved_batch()
    held = Payment.objects.get(batch=batch, consultant=waiting)
    other = Payment.objects.get(batch=batch, status=PS.PENDING)
    payment_cancel(payment=held, by=finance, reason="Paid by check instead")
    batch_cancel(batch=batch, by=finance2, reason="Duplicate batch")
    assert fresh(held).closed_reason == "Paid by check instead"
    assert fresh(other).closed_reason == "Duplicate batch"
    assert fresh(held).history.filter(history_action="payment.cancelled").count() == 1
    assert PayoutBatch.objects.get(pk=batch.pk).status == BS.CANCELLED
    assert live_items(held) == 0 and live_items(other) == 0


# --- 7. a webhook body that is not UTF-8 ----------------------------------------------------


def test_a_webhook_body_that_is_not_utf8_gets_400_and_nothing_is_stored(client, stripe_settings):
    raw = b"\xff\xfe"
    header = sign(raw, [WEBHOOK_SECRET], int(time.time()))
    response = client.post(
        URL, data=raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400
    assert response.content == b"Bad request"
    assert WebhookEvent.objects.count() == 0


# --- 8. a manual payment that came back ---------------------------------------------------------


@pytest.fixture
def paid_check(finance, finance2, coordinator):
    consultant = consultant_with_work(approver=coordinator, method=PayoutMethod.CHECK, name="Wren")
    consultant.email_receipts = True
    consultant.save(update_fields=["email_receipts"])
    payment = executed_batch(builder=finance, approver=finance2).payments.get()
    payment_record_manual(
        payment=payment, by=finance, reference="1001", handed_over_on=date(2026, 4, 1)
    )
    return fresh(payment)


def test_a_returned_check_releases_its_work_and_tells_the_consultant_neutrally(
    paid_check, finance2, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    assert contribution_statuses(paid_check) == {Contribution.Status.PAID}
    with django_capture_on_commit_callbacks(execute=True):
        payment_mark_returned(
            payment=paid_check, by=finance2, reason="The check came back uncashed"
        )
    p = fresh(paid_check)
    assert (p.status, p.closed_reason) == (PS.RETURNED, "The check came back uncashed")
    assert p.reversal_status == ""
    assert live_items(p) == 0
    assert contribution_statuses(p) == {Contribution.Status.APPROVED}
    [message] = mail.outbox
    consultant = p.consultant
    assert message.to == [consultant.email]
    assert message.subject == "An update about your account"
    for private in (consultant.display_name, "check", str(p.amount), "1001"):
        assert private.lower() not in message.subject.lower()
        assert private.lower() not in message.body.lower()
    # Marking it again changes nothing and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        payment_mark_returned(payment=p, by=finance2, reason="again")
    assert len(mail.outbox) == 1
    assert fresh(p).closed_reason == "The check came back uncashed"


def test_no_email_for_a_consultant_who_did_not_ask(
    paid_check, finance2, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    type(paid_check.consultant).objects.filter(pk=paid_check.consultant_id).update(
        email_receipts=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment_mark_returned(payment=paid_check, by=finance2, reason="Returned")
    assert fresh(paid_check).status == PS.RETURNED
    assert mail.outbox == []


def test_a_stripe_payment_is_not_marked_returned_by_hand(paid, finance):
    with pytest.raises(ValidationFailed) as caught:
        payment_mark_returned(payment=paid, by=finance, reason="It came back")
    assert "through Stripe" in caught.value.message
    p = fresh(paid)
    assert p.status == PS.PAID and live_items(p) == 2


def test_a_manual_payment_not_paid_yet_is_not_marked_returned(finance, finance2, coordinator):
    consultant_with_work(approver=coordinator, method=PayoutMethod.CHECK)
    payment = executed_batch(builder=finance, approver=finance2).payments.get()
    with pytest.raises(StateConflict):
        payment_mark_returned(payment=payment, by=finance, reason="Came back")
    with pytest.raises(ValidationFailed):
        payment_mark_returned(payment=payment, by=finance, reason="  ")
    assert fresh(payment).status == PS.PROCESSING


# --- 9. a transfer Stripe reports that does not match -------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 16551},
        {"currency": "eur"},
        {"destination": "acct_someone_else"},
    ],
    ids=["amount", "currency", "destination"],
)
def test_a_transfer_that_does_not_match_never_pays_the_payment(
    client, processing, stripe_sandbox, finance, change
):
    transfer = {
        "id": "tr_mismatch0001",
        "object": "transfer",
        "amount": 16550,
        "amount_reversed": 0,
        "currency": "usd",
        "destination": processing.consultant.stripe_account.account_id,
        "transfer_group": str(processing.public_id),
        "metadata": {"honora_payment": str(processing.public_id)},
        "reversed": False,
        **change,
    }
    assert post(client, event("transfer.created", transfer)).status_code == 200
    p = fresh(processing)
    assert p.status == PS.FAILED and p.transfer_id == ""
    assert p.failure_code == "transfer_mismatch"
    assert "tr_mismatch0001" in p.failure_message
    assert contribution_statuses(p) == {Contribution.Status.APPROVED}
    assert live_items(p) == 2
    assert "does not match" in WebhookEvent.objects.get().outcome
    # Left for finance: the engine sends nothing more, and it is not cancelled blindly.
    assert engine.pay(p.pk) == "skipped"
    assert stripe_sandbox.requests == []
    with pytest.raises(StateConflict) as caught:
        payment_cancel(payment=p, by=finance, reason="Mismatch")
    assert caught.value.code == "check_with_stripe"


def test_the_same_transfer_matching_pays_the_payment(client, processing):
    transfer = {
        "id": "tr_matching0001",
        "object": "transfer",
        "amount": 16550,
        "amount_reversed": 0,
        "currency": "usd",
        "destination": processing.consultant.stripe_account.account_id,
        "transfer_group": str(processing.public_id),
        "metadata": {"honora_payment": str(processing.public_id)},
        "reversed": False,
    }
    assert post(client, event("transfer.created", transfer)).status_code == 200
    p = fresh(processing)
    assert (p.status, p.transfer_id) == (PS.PAID, "tr_matching0001")


# --- the pages and the API: who may press the new buttons -------------------------------------


def _url(payment, name):
    return reverse(name, kwargs={"public_id": payment.public_id})


@pytest.fixture
def failed_sent(processing, stripe_sandbox, settings):
    unknown_then_refused(processing, stripe_sandbox, settings, created=False)
    return fresh(processing)


def test_the_page_offers_check_with_stripe_and_cancel_points_to_it(
    client, failed_sent, finance, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    page = client.get(_url(failed_sent, "payments:payment")).content.decode()
    assert _url(failed_sent, "payments:payment_check_stripe") in page
    cancel = client.post(
        _url(failed_sent, "payments:payment_cancel"), {"cancel-reason": "Paid another way"}
    )
    assert cancel.status_code == 409
    assert "Check with Stripe" in cancel.content.decode()
    assert fresh(failed_sent).status == PS.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(failed_sent, "payments:payment_check_stripe"))
    assert response.status_code == 302
    assert [failed_sent.pk] in enqueued("check_with_stripe")
    assert engine.check_with_stripe(failed_sent.pk) == "nothing at Stripe"
    page = client.get(_url(failed_sent, "payments:payment")).content.decode()
    assert _url(failed_sent, "payments:payment_check_stripe") not in page
    assert "checked with Stripe: no transfer exists" in page
    ok = client.post(
        _url(failed_sent, "payments:payment_cancel"), {"cancel-reason": "Paid another way"}
    )
    assert ok.status_code == 302
    assert fresh(failed_sent).status == PS.CANCELLED


def test_checking_a_payment_that_is_no_longer_failed_is_a_conflict(client, paid, finance):
    client.force_login(finance)
    page = client.get(_url(paid, "payments:payment")).content.decode()
    assert _url(paid, "payments:payment_check_stripe") not in page
    assert client.post(_url(paid, "payments:payment_check_stripe")).status_code == 409
    assert client.get(_url(paid, "payments:payment_check_stripe")).status_code == 405


def test_the_page_marks_a_check_returned_with_a_reason(client, paid_check, finance2):
    # A second finance person: not the one who recorded it as paid.
    client.force_login(finance2)
    url = _url(paid_check, "payments:payment_mark_returned")
    assert url in client.get(_url(paid_check, "payments:payment")).content.decode()
    missing = client.post(url, {"return-reason": ""})
    assert missing.status_code == 400
    assert "Say why the payment came back." in missing.content.decode()
    assert fresh(paid_check).status == PS.PAID
    assert client.post(url, {"return-reason": "Returned by the bank"}).status_code == 302
    p = fresh(paid_check)
    assert (p.status, p.closed_reason) == (PS.RETURNED, "Returned by the bank")
    assert client.post(url, {"return-reason": "again"}).status_code == 302  # changes nothing
    assert fresh(p).closed_reason == "Returned by the bank"


def test_the_page_shows_an_alert_and_the_reversal_loudly(client, paid, finance, stripe_sandbox):
    failed_payout(client, paid, stripe_sandbox)
    stripe_sandbox.faults.add(
        "balance_insufficient", method="POST", path="/v1/transfers/*/reversals"
    )
    engine.reverse(paid.pk)
    payment_flag(payment=paid, message="Check this payout by hand.")
    client.force_login(finance)
    page = client.get(_url(paid, "payments:payment")).content.decode()
    assert 'role="alert"' in page
    assert "Check this payout by hand." in page
    assert "Stripe refused to take the transfer back." in page
    assert "balance_insufficient" in page
    assert "Reversal refused" in page


def test_the_new_page_actions_are_for_finance_only(
    client, failed_sent, paid_check, consultant, outsider, coordinator, admin_user
):
    # The consultant here owns neither payment; the payee of the check is another user.
    payee = paid_check.consultant.user
    for user in (payee, consultant.user, outsider.user, coordinator, admin_user):
        client.force_login(user)
        assert client.post(_url(failed_sent, "payments:payment_check_stripe")).status_code == 403
        response = client.post(
            _url(paid_check, "payments:payment_mark_returned"), {"return-reason": "x"}
        )
        assert response.status_code == 403
    client.logout()
    assert client.post(_url(failed_sent, "payments:payment_check_stripe")).status_code == 302
    assert fresh(failed_sent).status == PS.FAILED
    assert (
        not fresh(failed_sent)
        .history.filter(history_action="payment.stripe_check_requested")
        .exists()
    )
    assert fresh(paid_check).status == PS.PAID


def test_the_new_page_actions_need_a_csrf_token(failed_sent, paid_check, finance):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(finance)
    assert strict.post(_url(failed_sent, "payments:payment_check_stripe")).status_code == 403
    response = strict.post(
        _url(paid_check, "payments:payment_mark_returned"), {"return-reason": "x"}
    )
    assert response.status_code == 403
    assert fresh(paid_check).status == PS.PAID


def _api(payment, action):
    return f"/api/v1/payments/{payment.public_id}/{action}/"


def test_the_api_checks_with_stripe_and_marks_returned_for_finance_only(
    failed_sent,
    paid_check,
    finance,
    finance2,
    coordinator,
    outsider,
    admin_user,
    django_capture_on_commit_callbacks,
):
    payee = paid_check.consultant.user
    for user, mine in ((coordinator, 403), (admin_user, 403), (outsider.user, 404)):
        api = client_for(user)
        response = api.post(_api(failed_sent, "check_with_stripe"), {}, format="json")
        assert response.status_code == mine
        assert set(response.json()) == {"code", "message", "fields"}
        response = api.post(_api(paid_check, "mark_returned"), {"reason": "x"}, format="json")
        assert response.status_code == mine
    own = client_for(payee).post(_api(paid_check, "mark_returned"), {"reason": "x"}, format="json")
    assert own.status_code == 403  # the payee reads it, but may not act on it
    anonymous = client_for(None).post(_api(failed_sent, "check_with_stripe"), {}, format="json")
    assert anonymous.status_code == 401
    assert fresh(paid_check).status == PS.PAID

    fin = client_for(finance)
    fin2 = client_for(finance2)  # marks returned what finance recorded as paid
    with django_capture_on_commit_callbacks(execute=True):
        checked = fin.post(_api(failed_sent, "check_with_stripe"), {}, format="json")
    assert checked.status_code == 200 and checked.json()["status"] == "failed"
    assert [failed_sent.pk] in enqueued("check_with_stripe")
    cancel = fin.post(_api(failed_sent, "cancel"), {"reason": "Give up"}, format="json")
    assert cancel.status_code == 409 and cancel.json()["code"] == "check_with_stripe"

    empty = fin2.post(_api(paid_check, "mark_returned"), {}, format="json")
    assert empty.status_code == 400 and "reason" in empty.json()["fields"]
    key = {"HTTP_IDEMPOTENCY_KEY": "return-check-1001"}
    body = {"reason": "Returned by the bank"}
    first = fin2.post(_api(paid_check, "mark_returned"), body, format="json", **key)
    assert first.status_code == 200 and first.json()["status"] == "returned"
    replay = fin2.post(_api(paid_check, "mark_returned"), body, format="json", **key)
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert fresh(paid_check).history.filter(history_action="payment.returned").count() == 1

    stripe_paid = fin.post(_api(failed_sent, "mark_returned"), body, format="json")
    # The payment's rail refuses it, not the request: a state conflict.
    assert stripe_paid.status_code == 409 and stripe_paid.json()["code"] == "wrong_rail"
    assert "through Stripe" in stripe_paid.json()["message"]
