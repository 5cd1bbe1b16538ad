"""The sandbox delivers real, signed events over HTTP to Honora's live server.

Duplicates, reordering, a wrong secret, a stale timestamp and a secret rotation
all happen on the wire; Honora ends in the same state each time.
"""

from __future__ import annotations

import contextlib
import urllib.request

import pytest

from payments.models import Payment, StripeAccount, WebhookEvent
from payments.stripe import engine
from payments.stripe.accounts import stripe_onboarding_link
from payments.stripe.client import stripe_client
from tests.stripe_sandbox.fixtures import WEBHOOK_SECRET

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
_browser = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def connect(live_server, stripe_sandbox, stripe_settings):
    """Register Honora's live server with the sandbox (after the test's own set-up).

    Deliveries run in the live server's thread; with SQLite's shared in-memory
    database the test waits (drains) instead of using the database meanwhile.
    """

    def add():
        return stripe_sandbox.webhooks.add_endpoint(
            live_server.url + "/webhooks/stripe/", WEBHOOK_SECRET
        )

    return add


def drain(sandbox) -> None:
    assert sandbox.webhooks.drain(timeout=20)


def test_onboarding_through_the_link_enables_payouts_by_webhook(
    connect, stripe_sandbox, payout_world
):
    connect()
    from consultants.models import PayoutMethod
    from tests.factories import ConsultantFactory, UserFactory

    user = UserFactory(roles=["consultant"])
    consultant = ConsultantFactory(user=user, payout_method=PayoutMethod.STRIPE)
    url = stripe_onboarding_link(consultant=consultant, by=user)
    assert url.startswith(stripe_sandbox.url + "/onboarding/")
    sa = StripeAccount.objects.get(consultant=consultant)
    assert not sa.ready
    acct = stripe_sandbox.account(sa.account_id)
    assert acct["type"] == "express"
    assert acct["tos_acceptance"]["service_agreement"] == "full"  # a US consultant, US platform
    assert set(acct["capabilities"]) == {"transfers"}
    assert acct["metadata"] == {"honora_consultant": str(consultant.public_id)}
    assert acct["email"] is None  # the consultant tells Stripe themselves

    # The consultant follows the link and finishes (the sandbox's page, auto-completed).
    # The redirect at the end goes to the portal page, which no server answers here.
    with contextlib.suppress(Exception):
        _browser.open(url + "?auto=1", timeout=10)
    drain(stripe_sandbox)
    sa.refresh_from_db()
    assert sa.ready
    assert WebhookEvent.objects.filter(type="account.updated", outcome="ready").count() == 1

    # A second link reuses the account; a fresh link each time.
    again = stripe_onboarding_link(consultant=consultant, by=user)
    assert again != url
    assert StripeAccount.objects.filter(consultant=consultant).count() == 1
    assert len(stripe_sandbox.state.accounts) == 1


def test_duplicated_and_reordered_events_never_move_a_payment_back(
    connect, stripe_sandbox, payout_world
):
    for amount in ("10.00", "20.00", "30.00"):
        payout_world.consultant([amount])
    batch = payout_world.executed_batch()
    connect()
    stripe_sandbox.webhooks.hold()
    stripe_sandbox.webhooks.faults.add("duplicate", event_type="transfer.*", copies=3, times=None)
    payments = list(Payment.objects.filter(batch=batch).order_by("amount"))
    for p in payments:
        assert engine.pay(p.pk) == "paid"
    reversed_one = Payment.objects.get(pk=payments[0].pk)
    stripe_client().v1.transfers.reversals.create(reversed_one.transfer_id)
    # transfer.reversed first, then the transfer.created events, each three times.
    assert stripe_sandbox.webhooks.release("reverse") == 4 * 3
    drain(stripe_sandbox)

    statuses = dict(Payment.objects.filter(batch=batch).values_list("pk", "status"))
    assert statuses == {
        payments[0].pk: PS.RETURNED,
        payments[1].pk: PS.PAID,
        payments[2].pk: PS.PAID,
    }
    assert WebhookEvent.objects.count() == 4  # each event stored once
    delivered = stripe_sandbox.webhooks.delivered()
    assert len(delivered) == 12 and all(d["ok"] for d in delivered)
    payout_world.assert_paid_exactly_once(payments[1:])


def test_a_bad_delivery_is_refused_and_the_retry_accepted(connect, stripe_sandbox, payout_world):
    consultant = payout_world.consultant(["10.00"], onboarded=False)
    connect()
    account_id = consultant.stripe_account.account_id
    stripe_sandbox.webhooks.faults.add("wrong_secret", event_type="account.updated")
    stripe_sandbox.webhooks.faults.add(
        "stale_timestamp", event_type="account.updated", age_s=900, skip=1
    )
    stripe_sandbox.complete_onboarding(account_id)
    drain(stripe_sandbox)
    attempts = [d["status"] for d in stripe_sandbox.webhooks.deliveries]
    assert attempts == [400, 400, 200]
    assert StripeAccount.objects.get(account_id=account_id).ready
    assert WebhookEvent.objects.count() == 1


def test_a_secret_rotation_on_the_wire(connect, stripe_sandbox, payout_world, settings):
    new = "whsec_new_secret_after_rotation"
    consultant = payout_world.consultant(["10.00"], onboarded=False)
    endpoint = connect()
    account_id = consultant.stripe_account.account_id
    # Stripe signs with both while the endpoint rotates; Honora has moved to the new one.
    stripe_sandbox.webhooks.set_secrets(endpoint.id, [WEBHOOK_SECRET, new])
    settings.STRIPE_WEBHOOK_SECRETS = [new]
    stripe_sandbox.complete_onboarding(account_id)
    drain(stripe_sandbox)
    assert [d["status"] for d in stripe_sandbox.webhooks.deliveries] == [200]
    assert StripeAccount.objects.get(account_id=account_id).ready


def _delivered_late_to_a_returned_payment(stripe_sandbox, p, event_type):
    """The one ``event_type`` event, held back so far, delivered late (its retry made due):
    answered 200, and the returned payment and its history stay as they were. The stored
    event, for its outcome."""
    history = p.history.count()
    [late] = stripe_sandbox.events(type=event_type)
    assert _accepted(stripe_sandbox, late["id"]) == []

    _late_delivery_is_due(stripe_sandbox, late["id"])

    [delivery] = _accepted(stripe_sandbox, late["id"])
    assert delivery["status"] == 200
    p.refresh_from_db()
    assert p.status == PS.RETURNED and p.history.count() == history
    return WebhookEvent.objects.get(event_id=late["id"])


def _paid_through_stripe(connect, stripe_sandbox, payout_world, settings):
    """A consultant's $42.00 paid by a Stripe transfer, its events delivered; tasks from
    here on run at once (the payout events' effects are read right after)."""
    consultant = payout_world.consultant(["42.00"])
    batch = payout_world.executed_batch()
    [p] = Payment.objects.filter(batch=batch)
    connect()
    stripe_sandbox.webhooks.hold()
    assert engine.pay(p.pk) == "paid"
    stripe_sandbox.webhooks.release()
    drain(stripe_sandbox)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return consultant, p


def test_a_payout_that_showed_paid_then_failed_returns_the_payment(
    connect, stripe_sandbox, payout_world, settings
):
    consultant, p = _paid_through_stripe(connect, stripe_sandbox, payout_world, settings)
    payout = stripe_sandbox.create_payout(consultant.stripe_account.account_id, 4200)
    stripe_sandbox.payout_paid_then_failed(payout["id"], "invalid_account_number")
    drain(stripe_sandbox)
    p.refresh_from_db()
    assert p.status == PS.RETURNED and p.stripe_payout_id == payout["id"]
    assert "invalid_account_number" in p.closed_reason
    outcomes = dict(WebhookEvent.objects.values_list("type", "outcome"))
    assert outcomes["payout.paid"] == "payout matched to 1 payment(s)"
    assert outcomes["payout.failed"] == "1 payment(s) returned"
    # Its transfer was reversed (the money came back), and that news changed nothing more.
    assert stripe_sandbox.live_transfers() == []
    assert outcomes["transfer.reversed"] == "already returned"


# --- late, out of order: a retry 30 hours later, after newer news overtook it ----------------


def _late_delivery_is_due(sandbox, event_id: str) -> None:
    """Move the sandbox clock 30 hours on, to when the waiting retry of ``event_id`` is due."""
    sandbox.clock.advance(hours=30)
    [pending] = [p for p in sandbox.webhooks.pending() if p["event_id"] == event_id] or [None]
    if pending is not None and pending["next_attempt_at"] > sandbox.clock.now():
        sandbox.clock.advance(seconds=pending["next_attempt_at"] - sandbox.clock.now() + 1)
    drain(sandbox)
    assert not [p for p in sandbox.webhooks.pending() if p["event_id"] == event_id]


def _accepted(sandbox, event_id: str) -> list[dict]:
    return [d for d in sandbox.webhooks.delivered() if d["event_id"] == event_id]


def test_a_not_ready_account_update_30_hours_late_changes_nothing(
    connect, stripe_sandbox, payout_world
):
    consultant = payout_world.consultant(["10.00"], onboarded=False)
    connect()
    stripe_sandbox.webhooks.retry_delays = ()  # failures go straight to Stripe's schedule
    account_id = consultant.stripe_account.account_id
    # Honora is unreachable for the first news ("not ready": Stripe wants more)...
    stripe_sandbox.webhooks.faults.add("unreachable", event_type="account.updated", times=1)
    stripe_sandbox.restrict_account(account_id)
    [late] = stripe_sandbox.events(type="account.updated")
    drain(stripe_sandbox)
    assert _accepted(stripe_sandbox, late["id"]) == []
    # ...and gets the newer news ("ready") first.
    stripe_sandbox.clock.advance(seconds=5)
    stripe_sandbox.complete_onboarding(account_id)
    drain(stripe_sandbox)
    sa = StripeAccount.objects.get(account_id=account_id)
    assert sa.ready
    history = sa.history.count()

    _late_delivery_is_due(stripe_sandbox, late["id"])

    [delivery] = _accepted(stripe_sandbox, late["id"])
    assert delivery["status"] == 200 and delivery["attempt"] == 2  # no 4xx: Stripe stops
    assert stripe_sandbox.clock.now() - late["created"] >= 30 * 3600
    sa.refresh_from_db()
    assert sa.ready and sa.payouts_enabled and sa.requirements_due == []
    assert sa.history.count() == history
    stored = WebhookEvent.objects.get(event_id=late["id"])
    assert stored.outcome == "older than what was applied: ignored"
    assert stored.created == late["created"]


def test_a_transfer_created_30_hours_late_after_its_reversal_changes_nothing(
    connect, stripe_sandbox, payout_world
):
    payout_world.consultant(["42.00"])
    batch = payout_world.executed_batch()
    [p] = Payment.objects.filter(batch=batch)
    connect()
    stripe_sandbox.webhooks.retry_delays = ()
    stripe_sandbox.webhooks.faults.add("unreachable", event_type="transfer.created", times=1)
    assert engine.pay(p.pk) == "paid"
    p.refresh_from_db()
    stripe_client().v1.transfers.reversals.create(p.transfer_id)
    drain(stripe_sandbox)
    p.refresh_from_db()
    assert p.status == PS.RETURNED
    event = _delivered_late_to_a_returned_payment(stripe_sandbox, p, "transfer.created")
    assert event.outcome == "already returned"


def test_a_payout_paid_30_hours_late_after_it_failed_changes_nothing(
    connect, stripe_sandbox, payout_world, settings
):
    consultant, p = _paid_through_stripe(connect, stripe_sandbox, payout_world, settings)
    stripe_sandbox.webhooks.retry_delays = ()
    stripe_sandbox.webhooks.faults.add("unreachable", event_type="payout.paid", times=1)
    payout = stripe_sandbox.create_payout(consultant.stripe_account.account_id, 4200)
    stripe_sandbox.payout_paid_then_failed(payout["id"], "account_closed")
    drain(stripe_sandbox)
    p.refresh_from_db()
    assert p.status == PS.RETURNED and p.stripe_payout_id == payout["id"]
    event = _delivered_late_to_a_returned_payment(stripe_sandbox, p, "payout.paid")
    assert stripe_sandbox.live_transfers() == []
    assert event.outcome.startswith("payout already matched")
