"""The Stripe sandbox, driven through the real stripe SDK over real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests
import stripe

from stripe_sandbox import SandboxControl, SandboxServer

from .fixtures import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# A browser stand-in: no proxies, and redirects are left to the test to inspect.
_browser = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def browse(url: str, data: bytes | None = None) -> tuple[int, dict, str]:
    try:
        with _browser.open(url, data=data, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as response:  # 3xx land here when not followed
        with response:
            return response.code, dict(response.headers), response.read().decode()


def create_account(client: stripe.StripeClient, email: str = "river@example.org"):
    return client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "email": email,
            "capabilities": {"transfers": {"requested": True}},
            "tos_acceptance": {"service_agreement": "full"},
            "metadata": {"consultant": "c-1"},
        }
    )


def transfer_params(destination: str, amount: int = 12_500, group: str = "payment-1") -> dict:
    return {
        "amount": amount,
        "currency": "usd",
        "destination": destination,
        "transfer_group": group,
        "metadata": {"payment_id": group, "attempt": "1"},
        # The fixture funds the bank_account balance (top-up money); card is empty.
        "source_type": "bank_account",
    }


@pytest.fixture
def account(stripe_sandbox):
    """An onboarded Express recipient account."""
    return stripe_sandbox.create_account(email="river@example.org", onboarded=True)


# -- onboarding ------------------------------------------------------------------------


def test_onboarding_link_enables_payouts_and_sends_signed_account_updated(
    stripe_sandbox, stripe_client, webhook_receiver
):
    acct = create_account(stripe_client)
    assert acct.id.startswith("acct_")
    assert acct.type == "express"
    assert acct.payouts_enabled is False
    assert acct.capabilities.transfers == "inactive"
    assert acct.requirements.currently_due

    link = stripe_client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": "http://127.0.0.1:8000/payouts/setup/refresh",
            "return_url": "http://127.0.0.1:8000/payouts/setup/done",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(stripe_sandbox.url + "/onboarding/")
    assert 0 < link.expires_at - link.created <= 600

    status, _, html = browse(link.url)
    assert status == 200
    assert "Complete onboarding" in html and acct.id in html

    status, headers, _ = browse(link.url + "/complete", data=b"result=complete")
    assert status == 302
    assert headers["Location"] == "http://127.0.0.1:8000/payouts/setup/done"

    fresh = stripe_client.v1.accounts.retrieve(acct.id)
    assert fresh.payouts_enabled is True
    assert fresh.capabilities.transfers == "active"
    assert fresh.requirements.currently_due == []

    assert stripe_sandbox.webhooks.drain(timeout=60)
    [delivery] = webhook_receiver.accepted("account.updated")
    event = stripe.Webhook.construct_event(delivery["raw"], delivery["signature"], WEBHOOK_SECRET)
    assert event.type == "account.updated"
    assert event.account == acct.id
    assert event.data.object.payouts_enabled is True
    assert event.data.previous_attributes.payouts_enabled is False

    # single use: a second visit goes to refresh_url
    status, headers, _ = browse(link.url)
    assert status == 302
    assert headers["Location"] == "http://127.0.0.1:8000/payouts/setup/refresh"


def test_onboarding_auto_completes_and_expired_link_goes_to_refresh_url(
    stripe_sandbox, stripe_client
):
    acct = create_account(stripe_client)
    params = {
        "account": acct.id,
        "type": "account_onboarding",
        "refresh_url": "https://honora.example.org/refresh",
        "return_url": "https://honora.example.org/return",
    }
    stale = stripe_client.v1.account_links.create(params=params)
    stripe_sandbox.clock.advance(minutes=10)
    status, headers, _ = browse(stale.url + "?auto=1")
    assert (status, headers["Location"]) == (302, "https://honora.example.org/refresh")
    assert stripe_client.v1.accounts.retrieve(acct.id).payouts_enabled is False

    link = stripe_client.v1.account_links.create(params=params)
    status, headers, _ = browse(link.url + "?auto=1")
    assert (status, headers["Location"]) == (302, "https://honora.example.org/return")
    assert stripe_client.v1.accounts.retrieve(acct.id).payouts_enabled is True


def test_leaving_onboarding_returns_without_enabling_payouts(stripe_sandbox, stripe_client):
    acct = create_account(stripe_client)
    link = stripe_client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": "https://honora.example.org/refresh",
            "return_url": "https://honora.example.org/return",
        }
    )
    assert browse(link.url)[0] == 200
    status, headers, _ = browse(link.url + "/complete", data=b"result=exit")
    assert (status, headers["Location"]) == (302, "https://honora.example.org/return")
    assert stripe_client.v1.accounts.retrieve(acct.id).payouts_enabled is False
    assert stripe_sandbox.events("account.updated") == []


# -- transfers -------------------------------------------------------------------------


def test_transfer_create_retrieve_and_list_by_group(stripe_sandbox, stripe_client, account):
    before = stripe_client.v1.balance.retrieve().available[0].amount

    created = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options={"idempotency_key": "attempt-1"}
    )
    other = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"], amount=500, group="payment-2")
    )
    assert created.id.startswith("tr_")
    assert created.amount == 12_500
    assert created.currency == "usd"
    assert created.destination == account["id"]
    assert created.metadata.to_dict() == {"payment_id": "payment-1", "attempt": "1"}
    assert created.reversed is False
    assert created.last_response.headers["Request-Id"].startswith("req_")

    fetched = stripe_client.v1.transfers.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.transfer_group == "payment-1"

    page = stripe_client.v1.transfers.list(params={"transfer_group": "payment-1", "limit": 10})
    assert page.object == "list"
    assert page.url == "/v1/transfers"
    assert page.has_more is False
    assert [t.id for t in page.data] == [created.id]

    by_destination = stripe_client.v1.transfers.list(params={"destination": account["id"]})
    assert [t.id for t in by_destination.data] == [other.id, created.id]  # newest first
    one = stripe_client.v1.transfers.list(params={"destination": account["id"], "limit": 1})
    assert one.has_more is True
    after = stripe_client.v1.balance.retrieve().available[0]
    assert (after.amount, after.currency) == (before - 13_000, "usd")


def test_unknown_parameter_and_missing_amount_are_refused(stripe_client, account):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.transfers.create(params={"currency": "usd", "destination": account["id"]})
    assert missing.value.param == "amount"
    assert missing.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe_client.v1.transfers.create(params={**transfer_params(account["id"]), "amout": 1})
    assert unknown.value.param == "amout"


def test_validation_error_is_not_stored_under_the_key(stripe_sandbox, stripe_client, account):
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.create(
            params={**transfer_params(account["id"]), "amount": 0},
            options={"idempotency_key": "k-valid-later"},
        )
    ok = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options={"idempotency_key": "k-valid-later"}
    )
    assert ok.id.startswith("tr_")
    assert "Idempotent-Replayed" not in ok.last_response.headers


# -- idempotency -----------------------------------------------------------------------


def test_same_key_replays_the_same_transfer(stripe_sandbox, stripe_client, account):
    options = {"idempotency_key": "payment-1-attempt-1"}
    first = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options=options
    )
    again = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options=options
    )

    assert again.id == first.id
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert (
        again.last_response.headers["Original-Request"] == first.last_response.headers["Request-Id"]
    )
    assert [t["id"] for t in stripe_sandbox.transfers()] == [first.id]
    assert len(stripe_sandbox.events("transfer.created")) == 1


def test_same_key_with_different_parameters_is_an_idempotency_error(
    stripe_sandbox, stripe_client, account
):
    options = {"idempotency_key": "payment-1-attempt-1"}
    stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    with pytest.raises(stripe.IdempotencyError) as err:
        stripe_client.v1.transfers.create(
            params=transfer_params(account["id"], amount=99), options=options
        )
    assert err.value.http_status == 400
    assert err.value.error.type == "idempotency_error"
    assert len(stripe_sandbox.transfers()) == 1


def test_balance_insufficient_is_stored_and_replayed(stripe_sandbox, stripe_client, account):
    stripe_sandbox.set_balance(1_000)
    options = {"idempotency_key": "payment-1-attempt-1"}
    with pytest.raises(stripe.InvalidRequestError) as first:
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert first.value.code == "balance_insufficient"
    assert first.value.http_status == 400

    stripe_sandbox.set_balance(1_000_000)  # topped up: the key still answers what it answered
    with pytest.raises(stripe.InvalidRequestError) as replay:
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert replay.value.code == "balance_insufficient"
    assert replay.value.headers["idempotent-replayed"] == "true"
    assert stripe_sandbox.transfers() == []

    fresh = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options={"idempotency_key": "payment-1-attempt-2"}
    )
    assert fresh.id.startswith("tr_")


def test_balance_insufficient_fault(stripe_sandbox, stripe_client, account):
    rule = stripe_sandbox.faults.add("balance_insufficient")
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]))
    assert err.value.code == "balance_insufficient"
    assert (rule.fired, rule.remaining) == (1, 0)
    assert stripe_client.v1.transfers.create(params=transfer_params(account["id"])).id


def test_key_is_forgotten_after_24_hours(stripe_sandbox, stripe_client, account):
    options = {"idempotency_key": "payment-1-attempt-1"}
    first = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options=options
    )
    stripe_sandbox.clock.advance(hours=23)
    assert (
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options).id
        == first.id
    )
    stripe_sandbox.clock.advance(hours=2)
    second = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options=options
    )
    assert second.id != first.id
    assert "Idempotent-Replayed" not in second.last_response.headers
    # exactly the double payment the application must prevent by asking first
    assert stripe_sandbox.duplicate_live_transfers() == {"payment-1": [first.id, second.id]}


def test_same_key_while_the_first_is_running_is_409(stripe_sandbox, make_stripe_client, account):
    rule = stripe_sandbox.faults.add(
        "delay", method="POST", path="/v1/transfers", phase="before_commit", delay_ms=10_000
    )
    options = {"idempotency_key": "payment-1-attempt-1"}
    outcome = {}

    def first_call():
        outcome["first"] = make_stripe_client().v1.transfers.create(
            params=transfer_params(account["id"]), options=options
        )

    thread = threading.Thread(target=first_call)
    thread.start()
    try:
        assert rule.wait_triggered(timeout=60)  # the first request holds the key
        with pytest.raises(stripe.APIError) as err:
            make_stripe_client().v1.transfers.create(
                params=transfer_params(account["id"]), options=options
            )
    finally:
        rule.release()
        thread.join(timeout=60)
    assert err.value.http_status == 409
    assert err.value.error.code == "idempotency_key_in_use"
    assert outcome["first"].id == stripe_sandbox.transfers()[0]["id"]
    assert len(stripe_sandbox.transfers()) == 1


# -- faults ----------------------------------------------------------------------------


def test_lost_response_then_retry_with_same_key_returns_the_same_transfer(
    stripe_sandbox, stripe_client, account
):
    rule = stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    options = {"idempotency_key": "payment-1-attempt-1"}
    with pytest.raises(stripe.APIConnectionError) as err:
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert err.value.should_retry is True
    assert rule.fired == 1

    [made] = stripe_sandbox.transfers()  # the write committed though the client saw nothing
    assert made["transfer_group"] == "payment-1"

    retried = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options=options
    )
    assert retried.id == made["id"]
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_sandbox.transfers()) == 1
    assert stripe_sandbox.duplicate_live_transfers() == {}


def test_dropped_before_commit_creates_nothing(stripe_sandbox, stripe_client, account):
    stripe_sandbox.faults.add("drop_before", method="POST", path="/v1/transfers")
    options = {"idempotency_key": "payment-1-attempt-1"}
    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert stripe_sandbox.transfers() == []
    made = stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert "Idempotent-Replayed" not in made.last_response.headers
    assert [t["id"] for t in stripe_sandbox.transfers()] == [made.id]


def test_response_delayed_past_the_client_timeout(stripe_sandbox, make_stripe_client, account):
    rule = stripe_sandbox.faults.add("delay", method="POST", path="/v1/transfers", delay_ms=10_000)
    impatient = make_stripe_client(timeout=0.3)
    options = {"idempotency_key": "payment-1-attempt-1"}
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    rule.release()
    [made] = stripe_sandbox.transfers()
    again = impatient.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert again.id == made["id"]
    assert len(stripe_sandbox.transfers()) == 1


def test_sdk_retries_a_500_with_should_retry_and_creates_one_transfer(
    stripe_sandbox, make_stripe_client, account
):
    stripe_sandbox.faults.add(
        "error", method="POST", path="/v1/transfers", status=500, should_retry=True
    )
    client = make_stripe_client(max_network_retries=2)
    made = client.v1.transfers.create(
        params=transfer_params(account["id"]), options={"idempotency_key": "payment-1-attempt-1"}
    )
    assert [t["id"] for t in stripe_sandbox.transfers()] == [made.id]
    attempts = [r for r in stripe_sandbox.requests if r["path"] == "/v1/transfers"]
    assert [r["status"] for r in attempts] == [500, 200]
    assert {r["idempotency_key"] for r in attempts} == {"payment-1-attempt-1"}


def test_stored_503_replays_even_though_the_transfer_exists(
    stripe_sandbox, make_stripe_client, account
):
    stripe_sandbox.faults.add("error", method="POST", path="/v1/transfers", status=503, commit=True)
    client = make_stripe_client(max_network_retries=0)
    options = {"idempotency_key": "payment-1-attempt-1"}
    with pytest.raises(stripe.APIError) as first:
        client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert first.value.http_status == 503
    assert "stripe-should-retry" not in first.value.headers
    with pytest.raises(stripe.APIError) as replay:
        client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert replay.value.headers["idempotent-replayed"] == "true"
    # only asking by transfer group tells the truth
    found = client.v1.transfers.list(params={"transfer_group": "payment-1"})
    assert [t.id for t in found.data] == [t["id"] for t in stripe_sandbox.transfers()]
    assert len(found.data) == 1


def test_500_without_should_retry_is_stored(stripe_sandbox, make_stripe_client, account):
    stripe_sandbox.faults.add(
        "error", method="POST", path="/v1/transfers", status=500, should_retry=False
    )
    client = make_stripe_client(max_network_retries=0)
    options = {"idempotency_key": "payment-1-attempt-1"}
    for _ in range(2):
        with pytest.raises(stripe.APIError) as err:
            client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
        assert err.value.http_status == 500
        assert err.value.headers["stripe-should-retry"] == "false"
    assert stripe_sandbox.transfers() == []


def test_429_is_not_stored(stripe_sandbox, stripe_client, account):
    rule = stripe_sandbox.faults.add("rate_limit", method="POST", path="/v1/transfers")
    options = {"idempotency_key": "payment-1-attempt-1"}
    with pytest.raises(stripe.RateLimitError) as err:
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert err.value.http_status == 429
    assert rule.fired == 1
    made = stripe_client.v1.transfers.create(params=transfer_params(account["id"]), options=options)
    assert "Idempotent-Replayed" not in made.last_response.headers
    assert [t["id"] for t in stripe_sandbox.transfers()] == [made.id]


def test_global_rate_limit_answers_429_beyond_the_limit(stripe_sandbox, stripe_client):
    stripe_sandbox.rate_limiter.now = lambda: 1000.0  # a frozen second: deterministic
    stripe_sandbox.set_rate_limit(2)
    stripe_client.v1.balance.retrieve()
    stripe_client.v1.balance.retrieve()
    with pytest.raises(stripe.RateLimitError):
        stripe_client.v1.balance.retrieve()
    stripe_sandbox.set_rate_limit(None)
    assert stripe_client.v1.balance.retrieve().object == "balance"


def test_probabilistic_faults_are_seeded():
    def pattern(seed):
        server = SandboxServer(seed=seed)
        rule = server.faults.add("error", times=None, probability=0.5)
        fired = []
        for _ in range(20):
            before = rule.fired
            server.faults.pick_request(method="GET", path="/v1/balance", account=None, params={})
            fired.append(rule.fired > before)
        return fired

    assert pattern(7) == pattern(7)
    assert any(pattern(7)) and not all(pattern(7))


def test_destination_that_cannot_receive_transfers(stripe_sandbox, stripe_client, account):
    pending = create_account(stripe_client)  # never onboarded
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.transfers.create(params=transfer_params(pending.id))
    assert err.value.code == "insufficient_capabilities_for_transfer"
    assert err.value.param == "destination"

    stripe_sandbox.faults.add("cannot_receive", params={"destination": account["id"]})
    with pytest.raises(stripe.InvalidRequestError) as faulted:
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]))
    assert faulted.value.code == "insufficient_capabilities_for_transfer"

    stripe_sandbox.restrict_account(account["id"])
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]))
    assert stripe_client.v1.accounts.retrieve(account["id"]).payouts_enabled is False
    assert stripe_sandbox.transfers() == []


def test_unknown_destination_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.transfers.create(params=transfer_params("acct_doesnotexist"))
    assert err.value.code == "resource_missing"


# -- reversals, payouts, events --------------------------------------------------------


def test_reversal_marks_the_transfer_and_emits_transfer_reversed(
    stripe_sandbox, stripe_client, account, webhook_receiver
):
    balance = stripe_sandbox.balance()
    made = stripe_client.v1.transfers.create(params=transfer_params(account["id"]))
    reversal = stripe_client.v1.transfers.reversals.create(made.id, params={})
    assert reversal.id.startswith("trr_")
    assert reversal.amount == made.amount

    fetched = stripe_client.v1.transfers.retrieve(made.id)
    assert fetched.reversed is True
    assert fetched.amount_reversed == made.amount
    assert stripe_sandbox.live_transfers("payment-1") == []
    assert stripe_sandbox.balance() == balance

    assert stripe_sandbox.webhooks.drain(timeout=60)
    [delivery] = webhook_receiver.accepted("transfer.reversed")
    event = stripe.Webhook.construct_event(delivery["raw"], delivery["signature"], WEBHOOK_SECRET)
    assert event.data.object.id == made.id
    assert event.data.object.reversed is True
    assert "account" not in event  # a platform event
    transfer_events = [
        r["event"]["type"]
        for r in webhook_receiver.accepted()
        if r["event"]["type"].startswith("transfer.")
    ]
    assert transfer_events == ["transfer.created", "transfer.reversed"]

    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.reversals.create(made.id, params={})


def test_payout_paid_then_failed_emits_both_events(
    stripe_sandbox, stripe_client, account, webhook_receiver
):
    stripe_client.v1.transfers.create(params=transfer_params(account["id"], amount=20_000))
    on_account = {"stripe_account": account["id"]}
    balance = stripe_client.v1.balance.retrieve(options=on_account)
    assert balance.available[0].amount == 20_000

    payout = stripe_client.v1.payouts.create(
        # The transfer drew bank_account money; a payout draws card money unless told.
        params={"amount": 20_000, "currency": "usd", "source_type": "bank_account"},
        options=on_account,
    )
    assert payout.id.startswith("po_")
    assert payout.status == "pending"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payouts.retrieve(payout.id)  # not on the platform

    stripe_sandbox.payout_paid_then_failed(payout.id, failure_code="no_account")
    fetched = stripe_client.v1.payouts.retrieve(payout.id, options=on_account)
    assert fetched.status == "failed"
    assert fetched.failure_code == "no_account"
    assert stripe_client.v1.balance.retrieve(options=on_account).available[0].amount == 20_000

    assert stripe_sandbox.webhooks.drain(timeout=60)
    payout_events = [
        r["event"] for r in webhook_receiver.accepted() if r["event"]["type"].startswith("payout.")
    ]
    assert [e["type"] for e in payout_events] == ["payout.created", "payout.paid", "payout.failed"]
    assert {e["account"] for e in payout_events} == {account["id"]}
    assert payout_events[2]["data"]["object"]["failure_code"] == "no_account"
    assert payout_events[2]["data"]["previous_attributes"]["status"] == "paid"

    listed = stripe_client.v1.events.list(params={"type": "payout.*"}, options=on_account)
    assert [e.type for e in listed.data] == ["payout.failed", "payout.paid", "payout.created"]
    assert stripe_client.v1.events.list(params={"type": "payout.*"}).data == []


def test_payout_controls_cancel_and_fail(stripe_sandbox, stripe_client, account):
    po = stripe_sandbox.create_payout(account["id"], 5_000)
    stripe_sandbox.payout_canceled(po["id"])
    second = stripe_sandbox.create_payout(account["id"], 7_000)
    stripe_sandbox.move_payout(second["id"], "in_transit")
    stripe_sandbox.payout_failed(second["id"], "account_closed")
    third = stripe_sandbox.create_payout(account["id"], 1_000)
    stripe_sandbox.payout_paid(third["id"])
    with pytest.raises(ValueError):
        stripe_sandbox.payout_canceled(third["id"])

    listed = stripe_client.v1.payouts.list(options={"stripe_account": account["id"]})
    assert [(p.status, p.failure_code) for p in listed.data] == [
        ("paid", None),
        ("failed", "account_closed"),
        ("canceled", None),
    ]
    types = [e["type"] for e in stripe_sandbox.events(account=account["id"])]
    assert "payout.canceled" in types and "payout.failed" in types and "payout.paid" in types


def test_events_endpoint_lists_and_retrieves(stripe_sandbox, stripe_client, account):
    made = stripe_client.v1.transfers.create(
        params=transfer_params(account["id"]), options={"idempotency_key": "k-events"}
    )
    [event] = stripe_client.v1.events.list(params={"type": "transfer.created"}).data
    assert event.id.startswith("evt_")
    assert event.data.object.id == made.id
    assert event.request.idempotency_key == "k-events"
    assert stripe_client.v1.events.retrieve(event.id).id == event.id


# -- webhooks --------------------------------------------------------------------------


def test_wrong_secret_and_stale_timestamp_fail_verification_then_a_retry_passes(
    stripe_sandbox, webhook_receiver
):
    webhook_receiver.verify_secret = WEBHOOK_SECRET
    stripe_sandbox.webhooks.faults.add("wrong_secret", event_type="account.updated")
    stripe_sandbox.webhooks.faults.add("stale_timestamp", event_type="payout.created")
    acct = stripe_sandbox.create_account(onboarded=True)  # account.updated
    stripe_sandbox.create_payout(acct["id"], 100)  # payout.created
    assert stripe_sandbox.webhooks.drain(timeout=60)

    for event_type, fault, message in [
        ("account.updated", "wrong_secret", "No signatures found matching"),
        ("payout.created", "stale_timestamp", "Timestamp outside the tolerance zone"),
    ]:
        attempts = [r for r in webhook_receiver.received if r["event"]["type"] == event_type]
        assert [a["status"] for a in attempts] == [400, 200]
        bad, good = attempts
        with pytest.raises(stripe.SignatureVerificationError, match=message):
            stripe.Webhook.construct_event(bad["raw"], bad["signature"], WEBHOOK_SECRET)
        assert stripe.Webhook.construct_event(good["raw"], good["signature"], WEBHOOK_SECRET)
        records = [d for d in stripe_sandbox.webhooks.deliveries if d["event_type"] == event_type]
        assert [(d["attempt"], d["status"], d["fault"]) for d in records] == [
            (1, 400, fault),
            (2, 200, None),
        ]


def test_failed_delivery_is_retried_until_accepted(stripe_sandbox, webhook_receiver):
    webhook_receiver.statuses.extend([500, 503])
    stripe_sandbox.create_account(onboarded=True)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    assert [r["status"] for r in webhook_receiver.received] == [500, 503, 200]
    assert len({r["event"]["id"] for r in webhook_receiver.received}) == 1


def test_duplicate_and_reordered_deliveries(stripe_sandbox, webhook_receiver):
    stripe_sandbox.webhooks.faults.add("duplicate", copies=2, event_type="payout.paid")
    acct = stripe_sandbox.create_account(onboarded=True)
    po = stripe_sandbox.create_payout(acct["id"], 100)
    stripe_sandbox.webhooks.hold()
    stripe_sandbox.payout_paid(po["id"])
    assert stripe_sandbox.webhooks.drain(timeout=60)
    assert stripe_sandbox.webhooks.held == 2
    assert stripe_sandbox.webhooks.release(order="reverse") == 2
    assert stripe_sandbox.webhooks.drain(timeout=60)
    paid = webhook_receiver.accepted("payout.paid")
    assert len(paid) == 2
    assert paid[0]["event"]["id"] == paid[1]["event"]["id"]

    second = stripe_sandbox.create_payout(acct["id"], 200)
    stripe_sandbox.webhooks.hold()
    stripe_sandbox.payout_paid(second["id"])
    stripe_sandbox.payout_failed(second["id"], "invalid_account_number")
    stripe_sandbox.webhooks.release(order="reverse")
    assert stripe_sandbox.webhooks.drain(timeout=60)
    tail = [r["event"]["type"] for r in webhook_receiver.accepted()][-2:]
    assert tail == ["payout.failed", "payout.paid"]  # the application must not regress


def test_rotated_secrets_both_verify_and_connect_only_endpoints(stripe_sandbox, stripe_client):
    from .fixtures import WebhookReceiver

    platform, connect = WebhookReceiver(), WebhookReceiver()
    try:
        stripe_sandbox.webhooks.add_endpoint(
            platform.url, ["whsec_old", "whsec_new"], connect=False
        )
        stripe_sandbox.webhooks.add_endpoint(connect.url, "whsec_connect", connect=True)
        acct = stripe_sandbox.create_account(onboarded=True)
        stripe_sandbox.set_balance(10_000)
        stripe_client.v1.transfers.create(params=transfer_params(acct["id"], amount=100))
        assert stripe_sandbox.webhooks.drain(timeout=60)

        [transfer_created] = platform.accepted()
        assert transfer_created["event"]["type"] == "transfer.created"
        assert transfer_created["signature"].count("v1=") == 2
        for secret in ("whsec_old", "whsec_new"):
            stripe.Webhook.construct_event(
                transfer_created["raw"], transfer_created["signature"], secret
            )
        assert [r["event"]["type"] for r in connect.accepted()] == ["account.updated"]
    finally:
        platform.close()
        connect.close()


def test_delayed_delivery_arrives_after_later_events(stripe_sandbox, webhook_receiver):
    stripe_sandbox.webhooks.faults.add("delay", delay_ms=300, event_type="account.updated")
    acct = stripe_sandbox.create_account(onboarded=True)
    stripe_sandbox.create_payout(acct["id"], 100)
    assert stripe_sandbox.webhooks.drain(timeout=60)
    assert [r["event"]["type"] for r in webhook_receiver.accepted()] == [
        "payout.created",
        "account.updated",
    ]


# -- auth, control API, process --------------------------------------------------------


def test_401_without_an_api_key(stripe_sandbox, make_stripe_client):
    with _no_proxy_session() as session:
        response = session.get(f"{stripe_sandbox.url}/v1/balance", timeout=60)
    assert response.status_code == 401
    assert response.headers["Request-Id"].startswith("req_")
    assert response.json()["error"]["type"] == "invalid_request_error"

    with pytest.raises(stripe.AuthenticationError):
        make_stripe_client(api_key="pk_test_publishable").v1.balance.retrieve()


def test_unknown_connected_account_is_a_permission_error(stripe_client):
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.balance.retrieve(options={"stripe_account": "acct_unknown"})


def test_control_api_drives_a_separate_process_view(stripe_sandbox, stripe_client, account):
    control = SandboxControl(stripe_sandbox.url)
    assert control.health()["ok"] is True
    fault = control.add_fault("drop_after", method="POST", path="/v1/transfers")
    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.transfers.create(params=transfer_params(account["id"]))
    assert [f["fired"] for f in control.faults()] == [fault["fired"] + 1]
    [dumped] = control.transfers("payment-1")
    assert dumped["destination"] == account["id"]
    assert control.duplicate_live_transfers() == {}

    payout = control.create_payout(account["id"], 2_500)
    assert control.move_payout(payout["id"], "paid_then_failed", "account_closed")["status"] == (
        "failed"
    )
    assert control.advance_clock(hours=25)["offset_seconds"] == 25 * 3600
    control.set_balance(0)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.create(params=transfer_params(account["id"], group="p-2"))
    control.configure(latency_ms=1)
    assert stripe_sandbox.latency_ms == 1
    with pytest.raises(urllib.error.HTTPError) as bad:
        control.add_fault("set_fire_to_the_bank")
    assert bad.value.code == 400
    bad.value.close()


def test_state_file_keeps_objects_and_keys_across_restarts(tmp_path):
    state_file = tmp_path / "sandbox.json"
    options = {"idempotency_key": "payment-1-attempt-1"}

    def client_for(server):
        return stripe.StripeClient(
            "sk_test_honora",
            base_addresses={"api": server.url},
            http_client=stripe.RequestsClient(timeout=60, session=_no_proxy_session()),
        )

    with SandboxServer(state_file=state_file, balance=1_000_000) as first:
        acct = first.create_account(onboarded=True)
        made = client_for(first).v1.transfers.create(
            params=transfer_params(acct["id"]), options=options
        )
    with SandboxServer(state_file=state_file) as second:
        client = client_for(second)
        assert client.v1.accounts.retrieve(acct["id"]).payouts_enabled is True
        again = client.v1.transfers.create(params=transfer_params(acct["id"]), options=options)
        assert again.id == made.id
        assert again.last_response.headers["Idempotent-Replayed"] == "true"
        assert [t["id"] for t in second.transfers()] == [made.id]


def test_sandbox_refuses_a_non_loopback_address():
    with pytest.raises(ValueError):
        SandboxServer(host="0.0.0.0")


def test_manage_py_stripe_sandbox_runs_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "stripe_sandbox", "--port", "0", "--latency-ms", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        assert "Stripe sandbox listening on http://127.0.0.1:" in line
        url = line.split(" on ")[1].split()[0]
        with _no_proxy_session() as session:
            health = json.loads(session.get(f"{url}/_sandbox/health", timeout=60).text)
            assert health["ok"] is True
            # Funded as a study's platform is, by bank top-ups (test mode starts at zero).
            balance = json.loads(session.get(f"{url}/_sandbox/balance", timeout=60).text)
        assert balance["source_types"] == {"bank_account": 10_000_000}
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
    assert process.returncode == 0


def test_a_ctrl_c_right_after_start_still_stops_the_sandbox():
    """Ctrl-C as soon as the sandbox says it listens (before it is waiting for one: on a
    busy machine the signal can land there) still stops its threads and the process."""
    from stripe_sandbox.cli import run
    from stripe_sandbox.server import SandboxServer

    class InterruptOnFirstLine(io.StringIO):
        def write(self, text):
            super().write(text)
            raise KeyboardInterrupt

    server = SandboxServer(port=0)
    run(server, out=InterruptOnFirstLine())
    assert server._httpd is None and server._thread is None  # stopped, threads joined
    assert f"stripe-sandbox:{server.port}" not in {t.name for t in threading.enumerate()}


def _no_proxy_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session
