"""``/webhooks/stripe/``: genuine signatures only, each event once, never backwards.

Events here are signed exactly as Stripe (and the sandbox) signs them and posted to
the real view; ``test_webhooks_live.py`` has the sandbox deliver them over HTTP.
"""

from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from engagements.models import Contribution
from payments.models import Payment, PaymentAttempt, PaymentItem, StripeAccount, WebhookEvent
from payments.stripe import engine
from payments.stripe.accounts import stripe_account_refresh
from stripe_sandbox import sign
from tests.stripe_sandbox.fixtures import WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings", "paid_hook")]

URL = "/webhooks/stripe/"
PS = Payment.Status
_ids = itertools.count(1)


def event(type_: str, obj: dict, *, account: str | None = None, created: int | None = None):
    return {
        "id": f"evt_test{next(_ids):08d}",
        "object": "event",
        "type": type_,
        "created": int(time.time()) if created is None else created,
        "account": account,
        "data": {"object": obj},
        "livemode": False,
    }


def post(client, evt: dict, *, secrets=(WEBHOOK_SECRET,), timestamp=None, body=None):
    raw = body if body is not None else json.dumps(evt).encode()
    header = sign(raw, list(secrets), int(time.time()) if timestamp is None else timestamp)
    return client.post(URL, data=raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def fresh(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


@pytest.fixture
def account(payout_world):
    consultant = payout_world.consultant(["80.00"], onboarded=False)
    return consultant.stripe_account


def account_obj(account_id: str, *, ready: bool) -> dict:
    return {
        "id": account_id,
        "object": "account",
        "email": "someone@example.org",  # personal data Stripe sends; Honora keeps none of it
        "payouts_enabled": ready,
        "details_submitted": ready,
        "capabilities": {"transfers": "active" if ready else "inactive"},
        "requirements": {"currently_due": [] if ready else ["external_account"]},
        "external_accounts": {"data": [{"last4": "6789"}]},
    }


# --- who may post -------------------------------------------------------------------------


def test_a_genuine_event_is_applied_and_stored_once_without_personal_data(client, account):
    evt = event(
        "account.updated", account_obj(account.account_id, ready=True), account=account.account_id
    )
    response = post(client, evt)
    assert response.status_code == 200
    sa = StripeAccount.objects.get(pk=account.pk)
    assert sa.ready and sa.last_event_created == evt["created"]
    stored = WebhookEvent.objects.get(event_id=evt["id"])
    assert (stored.type, stored.account, stored.outcome) == (
        "account.updated",
        account.account_id,
        "ready",
    )
    assert "example.org" not in json.dumps(stored.payload)
    assert "6789" not in json.dumps(stored.payload)


@pytest.mark.parametrize(
    "trouble",
    ["wrong_secret", "stale", "far_future", "no_header", "tampered", "garbage_header", "not_json"],
)
def test_anything_but_a_fresh_genuine_signature_gets_400_and_changes_nothing(
    client, account, trouble
):
    evt = event(
        "account.updated", account_obj(account.account_id, ready=True), account=account.account_id
    )
    raw = json.dumps(evt).encode()
    now = int(time.time())
    if trouble == "wrong_secret":
        response = post(client, evt, secrets=["whsec_someone_else"])
    elif trouble == "stale":
        response = post(client, evt, timestamp=now - 301)
    elif trouble == "far_future":
        response = post(client, evt, timestamp=now + 600)
    elif trouble == "no_header":
        response = client.post(URL, data=raw, content_type="application/json")
    elif trouble == "tampered":
        header = sign(raw, [WEBHOOK_SECRET], now)
        evil = raw.replace(b'"payouts_enabled": true', b'"payouts_enabled": false')
        response = client.post(
            URL, data=evil, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
    elif trouble == "garbage_header":
        response = client.post(
            URL, data=raw, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=soon,v1=zz"
        )
    else:
        response = post(client, evt, body=b"not json at all")
    assert response.status_code == 400
    assert response.content == b"Bad request"  # nothing about why
    assert WebhookEvent.objects.count() == 0
    assert not StripeAccount.objects.get(pk=account.pk).ready


def test_a_little_clock_skew_is_fine(client, account):
    evt = event(
        "account.updated", account_obj(account.account_id, ready=True), account=account.account_id
    )
    assert post(client, evt, timestamp=int(time.time()) + 30).status_code == 200


def test_rotation_any_configured_secret_passes(client, account, settings):
    old, new = WEBHOOK_SECRET, "whsec_rotated_in_2026"
    settings.STRIPE_WEBHOOK_SECRETS = [new, old]
    obj = account_obj(account.account_id, ready=True)
    for secrets in ([old], [new], [new, old], ["whsec_stranger", new]):
        evt = event("account.updated", obj, account=account.account_id)
        assert post(client, evt, secrets=secrets).status_code == 200, secrets
    settings.STRIPE_WEBHOOK_SECRETS = [new]  # the old one retired
    assert post(client, event("account.updated", obj), secrets=[old]).status_code == 400
    assert WebhookEvent.objects.count() == 4


def test_only_post(client):
    assert client.get(URL).status_code == 405


def test_without_a_configured_secret_everything_is_refused(client, account, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    evt = event("account.updated", account_obj(account.account_id, ready=True))
    assert post(client, evt).status_code == 400


# --- each event once, in any order ----------------------------------------------------------


def test_a_duplicate_event_is_answered_and_changes_nothing(client, account):
    evt = event(
        "account.updated", account_obj(account.account_id, ready=True), account=account.account_id
    )
    assert post(client, evt).status_code == 200
    assert post(client, evt).status_code == 200
    assert WebhookEvent.objects.filter(event_id=evt["id"]).count() == 1
    sa = StripeAccount.objects.get(pk=account.pk)
    assert sa.history.filter(history_action="stripe_account.updated").count() == 1


def test_an_older_account_update_never_overwrites_a_newer_one(client, account):
    t = int(time.time())
    newer = event("account.updated", account_obj(account.account_id, ready=True), created=t)
    older = event("account.updated", account_obj(account.account_id, ready=False), created=t - 60)
    assert post(client, newer).status_code == 200
    assert post(client, older).status_code == 200
    sa = StripeAccount.objects.get(pk=account.pk)
    assert sa.ready and sa.last_event_created == t
    assert WebhookEvent.objects.get(event_id=older["id"]).outcome.startswith("older")


def test_two_updates_in_the_same_second_read_the_account_back(
    client, account, stripe_sandbox, django_capture_on_commit_callbacks
):
    from django_tasks import default_task_backend

    t = int(time.time())
    post(client, event("account.updated", account_obj(account.account_id, ready=True), created=t))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            event("account.updated", account_obj(account.account_id, ready=False), created=t),
        )
    assert response.status_code == 200
    [task] = [r for r in default_task_backend.results if r.task.name == "refresh_stripe_account"]
    assert task.args == [account.account_id]
    # What the task does: Stripe's own current state decides.
    stripe_sandbox.complete_onboarding(account.account_id)
    assert stripe_account_refresh(account_id=account.account_id) == "ready"
    assert StripeAccount.objects.get(pk=account.pk).ready


def test_an_unknown_account_or_event_type_is_stored_and_ignored(client):
    evt = event("account.updated", account_obj("acct_nobody", ready=True))
    assert post(client, evt).status_code == 200
    other = event("charge.succeeded", {"id": "ch_1", "object": "charge"})
    assert post(client, other).status_code == 200
    outcomes = dict(WebhookEvent.objects.values_list("type", "outcome"))
    assert outcomes == {
        "account.updated": "no local Stripe account",
        "charge.succeeded": "not handled",
    }


# --- transfers --------------------------------------------------------------------------------


@pytest.fixture
def paid(payout_world):
    payout_world.consultant(["125.00", "40.50"])
    batch = payout_world.executed_batch()
    [payment] = Payment.objects.filter(batch=batch)
    assert engine.pay(payment.pk) == "paid"
    return fresh(payment)


def transfer_obj(stripe_sandbox, payment) -> dict:
    [t] = [t for t in stripe_sandbox.transfers() if t["transfer_group"] == str(payment.public_id)]
    return t


def test_transfer_created_records_a_transfer_whose_answer_was_lost(
    client, payout_world, stripe_sandbox
):
    payout_world.consultant(["60.00"])
    batch = payout_world.executed_batch()
    [p] = Payment.objects.filter(batch=batch)
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    assert engine.pay(p.pk) == "retry"
    t = transfer_obj(stripe_sandbox, p)
    assert post(client, event("transfer.created", t)).status_code == 200
    p = fresh(p)
    assert (p.status, p.transfer_id) == (PS.PAID, t["id"])
    assert p.attempts.get().status == PaymentAttempt.Status.SUCCEEDED
    assert engine.pay(p.pk) == "skipped"  # the pending retry finds it done
    assert len(stripe_sandbox.live_transfers()) == 1


def test_a_reversal_returns_the_payment_and_releases_its_work(client, paid, stripe_sandbox):
    from payments.stripe.client import stripe_client

    stripe_client().v1.transfers.reversals.create(paid.transfer_id)
    t = transfer_obj(stripe_sandbox, paid)
    assert t["reversed"]
    assert post(client, event("transfer.reversed", t)).status_code == 200
    p = fresh(paid)
    assert p.status == PS.RETURNED
    assert "paid again in a later batch" in p.closed_reason
    assert not PaymentItem.objects.filter(payment=p, live=True).exists()
    assert set(
        Contribution.objects.filter(payment_items__payment=p).values_list("status", flat=True)
    ) == {Contribution.Status.APPROVED}
    assert p.history.filter(history_action="payment.returned", history_user=None).count() == 1

    # Late and repeated news never move it back.
    assert post(client, event("transfer.created", t)).status_code == 200
    assert post(client, event("transfer.reversed", t)).status_code == 200
    assert fresh(paid).status == PS.RETURNED
    assert WebhookEvent.objects.order_by("id").last().outcome == "already returned"


def test_a_partial_reversal_is_left_to_finance(client, paid, stripe_sandbox):
    from payments.stripe.client import stripe_client

    stripe_client().v1.transfers.reversals.create(paid.transfer_id, params={"amount": 100})
    t = transfer_obj(stripe_sandbox, paid)
    assert post(client, event("transfer.reversed", t)).status_code == 200
    assert fresh(paid).status == PS.PAID
    assert "partial reversal" in WebhookEvent.objects.get().outcome


def test_a_reversal_that_overtakes_the_answer_records_paid_then_returned(
    client, payout_world, stripe_sandbox
):
    payout_world.consultant(["75.00"])
    batch = payout_world.executed_batch()
    [p] = Payment.objects.filter(batch=batch)
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    assert engine.pay(p.pk) == "retry"
    from payments.stripe.client import stripe_client

    t = transfer_obj(stripe_sandbox, p)
    stripe_client().v1.transfers.reversals.create(t["id"])
    t = transfer_obj(stripe_sandbox, p)
    assert post(client, event("transfer.reversed", t)).status_code == 200
    p = fresh(p)
    assert p.status == PS.RETURNED and p.transfer_id == t["id"]
    actions = list(
        p.history.order_by("history_date", "history_id").values_list("history_action", flat=True)
    )
    assert actions[-2:] == ["payment.paid", "payment.returned"]
    # The retry that was waiting replays the transfer and changes nothing.
    PaymentAttempt.objects.filter(payment=p).update(next_try_at=timezone.now())
    assert engine.pay(p.pk) == "skipped"
    assert fresh(p).status == PS.RETURNED
    # A late transfer.created (reordered) does not undo the reversal either.
    assert (
        post(
            client, event("transfer.created", {**t, "reversed": False, "amount_reversed": 0})
        ).status_code
        == 200
    )
    assert fresh(p).status == PS.RETURNED


def test_released_work_goes_into_a_later_batch(client, paid, payout_world, stripe_sandbox):
    from payments.stripe.client import stripe_client

    stripe_client().v1.transfers.reversals.create(paid.transfer_id)
    post(client, event("transfer.reversed", transfer_obj(stripe_sandbox, paid)))
    again = payout_world.executed_batch()
    [p2] = Payment.objects.filter(batch=again)
    assert p2.amount == Decimal("165.50")
    assert engine.pay(p2.pk) == "paid"
    assert len(stripe_sandbox.live_transfers()) == 1


# --- payouts on the connected account -----------------------------------------------------------


def payout_event(stripe_sandbox, payout: dict, type_: str) -> dict:
    account = stripe_sandbox.state.payout_account[payout["id"]]
    return event(type_, payout, account=account, created=payout["created"])


def test_a_paid_payout_is_matched_and_a_failed_one_returns_and_reverses(
    client, paid, stripe_sandbox, settings, django_capture_on_commit_callbacks
):
    account_id = paid.consultant.stripe_account.account_id
    payout = stripe_sandbox.create_payout(account_id, 16550)
    paid_payout = stripe_sandbox.payout_paid(payout["id"])
    assert post(client, payout_event(stripe_sandbox, paid_payout, "payout.paid")).status_code == 200
    assert fresh(paid).stripe_payout_id == payout["id"]
    assert fresh(paid).status == PS.PAID

    failed = stripe_sandbox.payout_failed(payout["id"], "account_closed")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, payout_event(stripe_sandbox, failed, "payout.failed"))
    assert response.status_code == 200
    p = fresh(paid)
    assert p.status == PS.RETURNED
    assert "account_closed" in p.closed_reason
    assert not PaymentItem.objects.filter(payment=p, live=True).exists()
    assert WebhookEvent.objects.get(type="payout.failed").outcome == "1 payment(s) returned"
    # The transfer is taken back, so paying the work again pays it once.
    [t] = stripe_sandbox.transfers()
    assert t["reversed"] and stripe_sandbox.live_transfers() == []
    reversals = [r for r in stripe_sandbox.requests if r["path"].endswith("/reversals")]
    assert [r["idempotency_key"] for r in reversals] == [f"honora-reverse-{p.public_id}"]


def test_a_failed_payout_is_matched_by_account_and_amount_when_paid_was_never_seen(
    client, paid, stripe_sandbox
):
    account_id = paid.consultant.stripe_account.account_id
    payout = stripe_sandbox.create_payout(account_id, 16550)
    failed = stripe_sandbox.payout_failed(payout["id"], "no_account")
    assert post(client, payout_event(stripe_sandbox, failed, "payout.failed")).status_code == 200
    p = fresh(paid)
    assert (p.status, p.stripe_payout_id) == (PS.RETURNED, payout["id"])
    # The paid event arriving late (reordered) changes nothing.
    late = {**failed, "status": "paid"}
    assert post(client, payout_event(stripe_sandbox, late, "payout.paid")).status_code == 200
    assert fresh(paid).status == PS.RETURNED


def test_a_failed_payout_that_matches_no_payment_changes_nothing(client, paid, stripe_sandbox):
    account_id = paid.consultant.stripe_account.account_id
    payout = stripe_sandbox.create_payout(account_id, 999)  # not this payment's amount
    failed = stripe_sandbox.payout_failed(payout["id"])
    assert post(client, payout_event(stripe_sandbox, failed, "payout.failed")).status_code == 200
    assert fresh(paid).status == PS.PAID
    assert "not matched" in WebhookEvent.objects.get().outcome
