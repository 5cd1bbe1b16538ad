"""The sandbox holds Honora to Stripe's rules (stripe_sandbox/RULES.md): which service
agreement an account may have, and webhook retries on Stripe's schedule.

Driven through the real stripe SDK over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import time

import pytest
import stripe

from stripe_sandbox import SandboxControl
from stripe_sandbox.webhooks import RETRY_FOR_SECONDS, RETRY_SCHEDULE, retry_delay

from .fixtures import WEBHOOK_SECRET


def _account(client, country: str, agreement: str | None, capabilities=("transfers",)):
    params: dict = {
        "type": "express",
        "country": country,
        "capabilities": {name: {"requested": True} for name in capabilities},
    }
    if agreement is not None:
        params["tos_acceptance"] = {"service_agreement": agreement}
    return client.v1.accounts.create(params=params)


def _refused(client, *args, **kwargs) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        _account(client, *args, **kwargs)
    error = caught.value
    assert error.http_status == 400
    assert error.error.type == "invalid_request_error"
    assert error.request_id.startswith("req_")
    return error


# --- accounts and service agreements --------------------------------------------------------


def test_a_us_recipient_account_is_refused(stripe_sandbox, stripe_client):
    error = _refused(stripe_client, "US", "recipient")
    assert error.param == "tos_acceptance[service_agreement]"
    assert "`recipient` service agreement" in error.user_message
    assert "cross-border" in error.user_message
    assert stripe_sandbox.state.accounts == {}


def test_a_us_account_on_a_us_platform_takes_the_full_agreement(stripe_sandbox, stripe_client):
    made = _account(stripe_client, "US", "full")
    assert made.tos_acceptance.service_agreement == "full"
    default = _account(stripe_client, "US", None)
    assert default.tos_acceptance.service_agreement == "full"  # Stripe's default
    assert stripe_sandbox.account(made.id)["tos_acceptance"]["service_agreement"] == "full"


def test_cross_border_needs_recipient_in_an_allowed_country(stripe_sandbox, stripe_client):
    made = _account(stripe_client, "FR", "recipient")
    assert made.country == "FR" and made.tos_acceptance.service_agreement == "recipient"
    full_abroad = _refused(stripe_client, "DE", "full")
    assert "`full` service agreement" in full_abroad.user_message
    assert full_abroad.param == "tos_acceptance[service_agreement]"
    not_allowed = _refused(stripe_client, "JP", "recipient")
    assert not_allowed.param == "country"
    assert "Cross-border payouts" in not_allowed.user_message
    card = _refused(stripe_client, "GB", "recipient", capabilities=("card_payments", "transfers"))
    assert card.param == "capabilities[card_payments]"
    assert [a["country"] for a in stripe_sandbox.state.accounts.values()] == ["FR"]


def test_a_platform_elsewhere_refuses_its_own_country_as_recipient(stripe_sandbox, stripe_client):
    stripe_sandbox.state.platform_country = "GB"
    _refused(stripe_client, "GB", "recipient")
    _refused(stripe_client, "US", "recipient")  # never for a US account
    _refused(stripe_client, "US", "full")  # cross-border under full
    assert _account(stripe_client, "GB", None).tos_acceptance.service_agreement == "full"
    assert _account(stripe_client, "CA", "recipient").country == "CA"
    # The test helper follows the same rule.
    assert stripe_sandbox.create_account()["tos_acceptance"]["service_agreement"] == "full"
    assert stripe_sandbox.create_account(country="IE")["tos_acceptance"] == {
        "service_agreement": "recipient"
    }


def test_a_bad_country_code_is_refused(stripe_client):
    error = _refused(stripe_client, "USA", "full")
    assert error.param == "country"


# --- webhook deliveries ------------------------------------------------------------------


def test_the_schedule_is_exponential_for_up_to_three_days():
    gaps = [retry_delay(n) for n in range(1, len(RETRY_SCHEDULE) + 1)]
    assert gaps[:3] == [60, 180, 540]
    assert all(b >= a for a, b in itertools.pairwise(gaps))
    assert max(gaps) == 12 * 3600
    assert RETRY_SCHEDULE[-1] <= RETRY_FOR_SECONDS
    assert RETRY_SCHEDULE[-1] + retry_delay(len(RETRY_SCHEDULE) + 1) > RETRY_FOR_SECONDS


def test_a_failed_delivery_waits_on_the_clock_and_goes_when_it_is_due(
    stripe_sandbox, webhook_receiver
):
    stripe_sandbox.webhooks.retry_delays = ()  # straight to Stripe's schedule
    webhook_receiver.statuses.extend([503])
    webhook_receiver.verify_secret = WEBHOOK_SECRET
    stripe_sandbox.create_account(onboarded=True)  # account.updated
    assert stripe_sandbox.webhooks.drain(timeout=60)  # what is due now: the first attempt
    assert [r["status"] for r in webhook_receiver.received] == [503]

    [pending] = stripe_sandbox.webhooks.pending()
    assert pending["phase"] == "scheduled" and pending["next_attempt"] == 2
    assert pending["last_status"] == 503
    assert pending["next_attempt_at"] - pending["first_attempt_at"] in (60, 61)
    control = SandboxControl(stripe_sandbox.url)
    seen = control.pending_deliveries()
    assert [p["event_id"] for p in seen["data"]] == [pending["event_id"]]
    assert seen["given_up"] == []

    stripe_sandbox.clock.advance(seconds=30)  # not yet due
    assert stripe_sandbox.webhooks.drain(timeout=60)
    assert len(webhook_receiver.received) == 1
    stripe_sandbox.clock.advance(seconds=31)
    webhook_receiver.wait_for(2, timeout=30)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    assert [r["status"] for r in webhook_receiver.received] == [503, 200]
    assert stripe_sandbox.webhooks.pending() == []


def test_a_retry_thirty_hours_late_is_signed_when_it_is_sent(stripe_sandbox, webhook_receiver):
    stripe_sandbox.webhooks.retry_delays = ()
    # The endpoint is down for the first attempts; the event waits on Stripe's schedule.
    rule = stripe_sandbox.webhooks.faults.add(
        "unreachable", event_type="account.updated", times=None
    )
    account = stripe_sandbox.create_account(onboarded=True)
    [event] = stripe_sandbox.events(type="account.updated")
    assert stripe_sandbox.webhooks.drain(timeout=60)
    stripe_sandbox.clock.advance(hours=29, minutes=59)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    attempts = [d for d in stripe_sandbox.webhooks.deliveries if d["event_id"] == event["id"]]
    assert len(attempts) >= 2 and all(d["fault"] == "unreachable" for d in attempts)
    assert webhook_receiver.received == []

    stripe_sandbox.webhooks.faults.remove(rule.id)  # the endpoint is back
    [pending] = stripe_sandbox.webhooks.pending()
    stripe_sandbox.clock.advance(
        seconds=max(pending["next_attempt_at"] - stripe_sandbox.clock.now(), 0) + 1
    )
    webhook_receiver.wait_for(1, timeout=30)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    [delivery] = webhook_receiver.accepted("account.updated")
    verified = stripe.Webhook.construct_event(
        delivery["raw"], delivery["signature"], WEBHOOK_SECRET, tolerance=300
    )
    assert verified.id == event["id"] and verified.account == account["id"]
    assert verified.created == event["created"]  # still when it happened
    signed_at = int(delivery["signature"].split(",")[0].removeprefix("t="))
    assert abs(signed_at - time.time()) < 120  # when it was sent, in wall time
    assert stripe_sandbox.clock.now() - verified.created >= 30 * 3600 - 60


def test_after_three_days_the_sandbox_gives_up(stripe_sandbox, webhook_receiver):
    stripe_sandbox.webhooks.retry_delays = ()
    stripe_sandbox.webhooks.faults.add("unreachable", times=None)
    stripe_sandbox.create_account(onboarded=True)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    first = stripe_sandbox.clock.now()
    moves = 0
    while stripe_sandbox.webhooks.pending():
        [pending] = stripe_sandbox.webhooks.pending()
        stripe_sandbox.clock.advance(
            seconds=max(pending["next_attempt_at"] - stripe_sandbox.clock.now(), 0) + 1
        )
        assert stripe_sandbox.webhooks.drain(timeout=60)
        moves += 1
        assert moves <= len(RETRY_SCHEDULE) + 1
    attempts = stripe_sandbox.webhooks.deliveries
    assert len(attempts) == 1 + len(RETRY_SCHEDULE)
    assert stripe_sandbox.clock.now() - first <= RETRY_FOR_SECONDS + 60
    [gone] = stripe_sandbox.webhooks.given_up
    assert gone["attempts"] == len(attempts) and gone["event_type"] == "account.updated"


def test_quick_retries_first_for_a_receiver_that_is_still_starting(
    stripe_sandbox, webhook_receiver
):
    # As the demo's web server: not answering for the first attempts.
    webhook_receiver.statuses.extend([502, 502, 502])
    stripe_sandbox.create_account(onboarded=True)
    webhook_receiver.wait_for(4, timeout=30)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    assert [r["status"] for r in webhook_receiver.received] == [502, 502, 502, 200]
    assert stripe_sandbox.clock.offset == 0  # no clock moved: wall time alone
