"""The balance pre-flight and the transfer's source type, against the sandbox over HTTP.

Stripe keeps the platform's balance per source type and a transfer draws only from the
one it names (STRIPE_TRANSFER_SOURCE_TYPE). A batch Stripe's balance does not cover is a
pre-flight flag, not a wave of failed payments: nothing is sent, nothing changes.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from payments.models import Payment, PaymentAttempt, PayoutBatch
from payments.stripe import engine
from payments.stripe.funding import Funding
from tests.api.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status


@pytest.fixture
def batch(payout_world):
    payout_world.consultant(["125.00", "40.50"])
    payout_world.consultant(["300.00"])  # $465.50 in all
    return payout_world.approved_batch()


def transfer_posts(sandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/v1/transfers"]


def balance_reads(sandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["method"] == "GET" and r["path"] == "/v1/balance"]


def snapshot(batch) -> tuple:
    """Everything execution would change: the batch, its payments, attempts, history."""
    b = PayoutBatch.objects.get(pk=batch.pk)
    payments = list(Payment.objects.filter(batch=batch).order_by("pk"))
    return (
        b.status,
        b.executed_by_id,
        [(p.pk, p.status, p.failure_code) for p in payments],
        PaymentAttempt.objects.filter(payment__batch=batch).count(),
        b.history.count(),
        sum(p.history.count() for p in payments),
    )


def execute_page(client, batch):
    return client.post(reverse("payments:batch_execute", kwargs={"public_id": batch.public_id}))


def test_an_underfunded_balance_is_a_flag_on_the_batch_page_and_nothing_changes(
    client, batch, finance, stripe_sandbox
):
    stripe_sandbox.set_balance(1_000)  # $10.00 of bank_account money
    before = snapshot(batch)
    client.force_login(finance)
    response = execute_page(client, batch)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Pre-flight flags" in page
    assert "need $465.50 from the bank_account balance, which holds $10.00" in page
    assert "Nothing was paid and the batch is unchanged" in page
    assert "Add funds to the platform" in page
    assert snapshot(batch) == before
    assert transfer_posts(stripe_sandbox) == []
    assert len(balance_reads(stripe_sandbox)) == 1
    assert stripe_sandbox.transfers() == []


def test_money_in_another_source_type_is_named_with_the_setting(batch, finance, stripe_sandbox):
    stripe_sandbox.set_balance(0)
    stripe_sandbox.set_balance(5_000_000, source_type="card")
    before = snapshot(batch)
    response = client_for(finance).post(
        f"/api/v1/payout-batches/{batch.public_id}/execute/", format="json"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "balance_insufficient"
    assert "need $465.50 from the bank_account balance, which holds $0.00" in body["message"]
    assert "The card balance holds $50,000.00" in body["message"]
    assert "STRIPE_TRANSFER_SOURCE_TYPE=card" in body["message"]
    assert snapshot(batch) == before
    assert transfer_posts(stripe_sandbox) == []


def test_stripe_unreachable_for_the_balance_is_a_409_and_nothing_changes(
    client, batch, finance, stripe_sandbox
):
    stripe_sandbox.faults.add("error", method="GET", path="/v1/balance", status=503)
    before = snapshot(batch)
    response = client_for(finance).post(
        f"/api/v1/payout-batches/{batch.public_id}/execute/", format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "stripe_balance_unavailable"
    assert "could not read Stripe's balance" in response.json()["message"]
    assert snapshot(batch) == before
    client.force_login(finance)
    stripe_sandbox.faults.add("error", method="GET", path="/v1/balance", status=503)
    page = execute_page(client, batch)
    assert page.status_code == 409
    assert "try again in a minute" in page.content.decode()
    assert snapshot(batch) == before
    assert transfer_posts(stripe_sandbox) == []


def test_a_funded_batch_executes_and_every_transfer_names_the_source_type(
    client, batch, finance, stripe_sandbox, payout_world
):
    client.force_login(finance)
    response = execute_page(client, batch)
    assert response.status_code == 302
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.PROCESSING
    payments = list(Payment.objects.filter(batch=batch))
    for p in payments:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments)
    assert {t["source_type"] for t in stripe_sandbox.transfers()} == {"bank_account"}
    for post in transfer_posts(stripe_sandbox):
        assert post["status"] == 200
    assert stripe_sandbox.balance(source_type="bank_account") == 10_000_000 - 46_550


def test_with_card_configured_transfers_draw_from_card(
    batch, finance, stripe_sandbox, payout_world, settings
):
    settings.STRIPE_TRANSFER_SOURCE_TYPE = "card"
    stripe_sandbox.set_balance(100_000, source_type="card")
    response = client_for(finance).post(
        f"/api/v1/payout-batches/{batch.public_id}/execute/", format="json"
    )
    assert response.status_code == 200, response.content
    payments = list(Payment.objects.filter(batch=batch))
    for p in payments:
        engine.pay(p.pk)
    payout_world.assert_paid_exactly_once(payments)
    assert {t["source_type"] for t in stripe_sandbox.transfers()} == {"card"}
    assert stripe_sandbox.balance(source_type="card") == 100_000 - 46_550
    assert stripe_sandbox.balance(source_type="bank_account") == 10_000_000  # untouched
    for attempt in PaymentAttempt.objects.filter(payment__batch=batch):
        assert attempt.request["source_type"] == "card"


def test_held_and_manual_payments_are_not_counted(payout_world, finance, stripe_sandbox):
    payout_world.consultant(["200.00"])
    payout_world.consultant(["900.00"], onboarded=False)  # held: not ready
    batch = payout_world.approved_batch()
    stripe_sandbox.set_balance(20_000)  # exactly $200.00
    response = client_for(finance).post(
        f"/api/v1/payout-batches/{batch.public_id}/execute/", format="json"
    )
    assert response.status_code == 200, response.content


def test_the_message_is_in_money_format():
    funding = Funding(
        needed=Decimal("1234.50"),
        available=Decimal("0.99"),
        currency="USD",
        source_type="bank_account",
        others={"card": Decimal("2000.00"), "fpx": Decimal("5.00")},
    )
    assert not funding.covered
    text = funding.message()
    assert "$1,234.50" in text and "$0.99" in text
    assert "The card balance holds $2,000.00" in text
    assert "fpx" not in text  # too little there to name
