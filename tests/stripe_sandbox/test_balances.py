"""The sandbox's balances per source type, top-ups, and idempotency keys scoped per account
(stripe_sandbox/RULES.md), through the real SDK over HTTP."""

from __future__ import annotations

import pytest
import requests
import stripe

from stripe_sandbox import SandboxServer
from stripe_sandbox.control import SandboxControl

from .fixtures import TEST_FUNDS


def transfer(destination: str, amount: int = 12_500, **extra) -> dict:
    return {
        "amount": amount,
        "currency": "usd",
        "destination": destination,
        "transfer_group": "payment-1",
        **extra,
    }


@pytest.fixture
def account(stripe_sandbox):
    return stripe_sandbox.create_account(onboarded=True)


def test_test_mode_starts_at_zero_in_stripes_balance_shape():
    with SandboxServer() as server:
        session = requests.Session()
        session.trust_env = False
        client = stripe.StripeClient(
            "sk_test_x",
            base_addresses={"api": server.url},
            http_client=stripe.RequestsClient(session=session),
        )
        balance = client.v1.balance.retrieve().to_dict()
        session.close()
    assert balance["object"] == "balance"
    assert balance["available"] == [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]
    assert balance["pending"] == [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]


def test_balance_is_the_sum_with_each_source_type(stripe_sandbox, stripe_client):
    stripe_sandbox.set_balance(700, source_type="card")
    balance = stripe_client.v1.balance.retrieve().to_dict()
    [usd] = balance["available"]
    assert usd == {
        "amount": TEST_FUNDS + 700,
        "currency": "usd",
        "source_types": {"bank_account": TEST_FUNDS, "card": 700},
    }
    assert balance["pending"][0]["amount"] == 0
    assert stripe_sandbox.balance() == TEST_FUNDS + 700
    assert stripe_sandbox.balance(source_type="card") == 700


def test_a_transfer_draws_from_card_unless_it_names_another_source_type(
    stripe_sandbox, stripe_client, account
):
    # Plenty of bank_account money, no card money: Stripe's default draw fails.
    assert stripe_sandbox.balance(source_type="card") == 0
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.transfers.create(params=transfer(account["id"]))
    assert err.value.code == "balance_insufficient"
    assert stripe_sandbox.transfers() == []

    made = stripe_client.v1.transfers.create(
        params=transfer(account["id"], source_type="bank_account")
    )
    assert made.source_type == "bank_account"
    assert stripe_sandbox.balance(source_type="bank_account") == TEST_FUNDS - 12_500
    assert stripe_sandbox.balance(account=account["id"], source_type="bank_account") == 12_500
    [dumped] = stripe_sandbox.transfers()
    assert dumped["source_type"] == "bank_account"


def test_the_named_source_type_must_hold_the_money(stripe_sandbox, stripe_client, account):
    stripe_sandbox.set_balance(5_000, source_type="card")
    stripe_sandbox.set_balance(100, source_type="bank_account")
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.transfers.create(
            params=transfer(account["id"], amount=1_000, source_type="bank_account")
        )
    assert err.value.code == "balance_insufficient"
    made = stripe_client.v1.transfers.create(params=transfer(account["id"], amount=1_000))
    assert made.source_type == "card"
    assert stripe_sandbox.balance(source_type="card") == 4_000
    assert stripe_sandbox.balance(source_type="bank_account") == 100


def test_an_unknown_source_type_is_a_400_naming_the_param(stripe_sandbox, stripe_client, account):
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.transfers.create(params=transfer(account["id"], source_type="cash"))
    assert err.value.http_status == 400
    assert err.value.error.type == "invalid_request_error"
    assert err.value.param == "source_type"
    assert stripe_sandbox.transfers() == []


def test_a_reversal_returns_the_money_to_the_source_type_it_came_from(
    stripe_sandbox, stripe_client, account
):
    stripe_sandbox.set_balance(10_000, source_type="card")
    made = stripe_client.v1.transfers.create(
        params=transfer(account["id"], amount=3_000, source_type="bank_account")
    )
    stripe_client.v1.transfers.reversals.create(made.id, params={"amount": 1_000})
    assert stripe_sandbox.balance(source_type="bank_account") == TEST_FUNDS - 2_000
    assert stripe_sandbox.balance(source_type="card") == 10_000
    assert stripe_sandbox.balance(account=account["id"], source_type="bank_account") == 2_000


def test_a_top_up_credits_bank_account_at_once_and_replays_under_its_key(
    stripe_sandbox, stripe_client
):
    stripe_sandbox.set_balance(0)
    options = {"idempotency_key": "fund-1"}
    params = {"amount": 50_000, "currency": "usd", "description": "Study funds"}
    topup = stripe_client.v1.topups.create(params=params, options=options)
    assert topup.id.startswith("tu_")
    assert topup.object == "topup"
    assert topup.status == "succeeded"
    assert topup.amount == 50_000
    again = stripe_client.v1.topups.create(params=params, options=options)
    assert again.id == topup.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert stripe_sandbox.balance(source_type="bank_account") == 50_000  # credited once
    assert stripe_sandbox.balance(source_type="card") == 0
    assert stripe_client.v1.topups.retrieve(topup.id).amount == 50_000
    assert [t.id for t in stripe_client.v1.topups.list().data] == [topup.id]
    assert [e["type"] for e in stripe_sandbox.events() if e["type"].startswith("topup.")] == [
        "topup.created",
        "topup.succeeded",
    ]
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_client.v1.topups.create(params={"currency": "usd"})
    assert err.value.param == "amount"


def test_control_api_sets_and_reads_balances_per_source_type(stripe_sandbox, stripe_client):
    control = SandboxControl(stripe_sandbox.url)
    answer = control.set_balance(2_500, source_type="card")
    assert answer["source_types"] == {"bank_account": TEST_FUNDS, "card": 2_500}
    control.set_balance(0)  # bank_account, as before source types existed
    assert control.balance() == {
        "amount": 2_500,
        "currency": "usd",
        "source_types": {"bank_account": 0, "card": 2_500},
    }
    state = control.call("GET", "state")
    assert state["balance"] == {"usd": 2_500}
    assert state["balance_by_source_type"] == {"usd": {"bank_account": 0, "card": 2_500}}


# -- idempotency keys are scoped per account, not per API key ---------------------------


def test_a_key_rotation_mid_retry_replays_instead_of_duplicating(
    stripe_sandbox, make_stripe_client, account
):
    stripe_sandbox.api_keys = {"sk_test_old"}
    old = make_stripe_client(api_key="sk_test_old")
    new = make_stripe_client(api_key="sk_test_new")
    with pytest.raises(stripe.AuthenticationError):
        new.v1.balance.retrieve()  # not the platform's key yet

    options = {"idempotency_key": "payment-1-attempt-1"}
    params = transfer(account["id"], source_type="bank_account")
    # The transfer is made, but its answer is lost; the key is rolled before the retry.
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    with pytest.raises(stripe.APIConnectionError):
        old.v1.transfers.create(params=params, options=options)
    SandboxControl(stripe_sandbox.url).add_api_key("sk_test_new")

    retried = new.v1.transfers.create(params=params, options=options)
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert [t["id"] for t in stripe_sandbox.transfers()] == [retried.id]


def test_the_same_key_on_two_connected_accounts_is_two_requests(stripe_sandbox, stripe_client):
    one = stripe_sandbox.create_account(onboarded=True)
    two = stripe_sandbox.create_account(onboarded=True)
    options = {"idempotency_key": "payout-1"}
    params = {"amount": 1_000, "currency": "usd", "source_type": "bank_account"}
    for acct in (one, two):
        stripe_sandbox.set_balance(5_000, account=acct["id"])
    first = stripe_client.v1.payouts.create(
        params=params, options={**options, "stripe_account": one["id"]}
    )
    second = stripe_client.v1.payouts.create(
        params=params, options={**options, "stripe_account": two["id"]}
    )
    assert first.id != second.id
    assert "Idempotent-Replayed" not in second.last_response.headers
    # ... and the platform's own use of the key is a third.
    topup = stripe_client.v1.topups.create(
        params={"amount": 100, "currency": "usd"}, options=options
    )
    assert topup.id.startswith("tu_")
    # On one account the key still replays.
    again = stripe_client.v1.payouts.create(
        params=params, options={**options, "stripe_account": one["id"]}
    )
    assert again.id == first.id


def test_a_state_file_from_before_source_types_keeps_its_money_as_bank_account(tmp_path):
    import json

    state_file = tmp_path / "sandbox.json"
    state_file.write_text(
        json.dumps(
            {
                "version": 1,
                "state": {"platform_balance": {"usd": 4_200}, "account_balance": {}},
                "idempotency": [],
                "clock_offset": 0,
            }
        )
    )
    server = SandboxServer(state_file=state_file)
    assert server.balances() == {"usd": {"bank_account": 4_200}}
    assert server.balance(source_type="card") == 0
