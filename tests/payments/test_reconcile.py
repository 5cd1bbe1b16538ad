"""``manage.py stripe_reconcile``: every kind of disagreement with Stripe is reported.

It reads only: Honora's rows and their history are unchanged, and every request it
sends to Stripe is a GET.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.models import Payment, PaymentAttempt
from payments.services.finance import payment_cancel
from payments.services.lifecycle import payment_record_failure, payment_record_transfer
from payments.stripe import engine
from payments.stripe.client import stripe_client
from payments.stripe.events import payment_apply_payout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status


def reconcile(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("stripe_reconcile", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def transfer(payment, *, amount=None, destination=None, group=None):
    return stripe_client().v1.transfers.create(
        params={
            "amount": amount or int(payment.amount * 100),
            "currency": "usd",
            "destination": destination or payment.consultant.stripe_account.account_id,
            "transfer_group": group or str(payment.public_id),
            "source_type": "bank_account",
        }
    )


@pytest.fixture
def world(payout_world, stripe_sandbox):
    names = ["ok", "unpaid_at_stripe", "twice", "wrong_amount", "wrong_destination", "lost", "returned", "cancelled"]  # fmt: skip
    consultants = {n: payout_world.consultant([f"{10 + i}.00"]) for i, n in enumerate(names)}
    batch = payout_world.executed_batch()
    payments = {
        n: Payment.objects.select_related("consultant").get(batch=batch, consultant=c)
        for n, c in consultants.items()
    }
    return payout_world, payments


def test_agreement_is_reported_and_exits_zero(world):
    _, payments = world
    for p in payments.values():
        engine.pay(p.pk)
    code, out = reconcile()
    assert code == 0, out
    assert "Honora and Stripe agree." in out


def test_every_kind_of_mismatch_is_reported_and_nothing_changes(world, stripe_sandbox, finance):
    _, p = world
    for name in ("ok", "unpaid_at_stripe", "twice", "returned"):
        assert engine.pay(p[name].pk) == "paid"
    # Paid here, but Stripe reversed it and Honora never heard.
    stripe_client().v1.transfers.reversals.create(
        Payment.objects.get(pk=p["unpaid_at_stripe"].pk).transfer_id
    )
    # A second live transfer for one payment.
    second = transfer(p["twice"])
    # Paid here by a transfer of another amount / to another account.
    wrong = transfer(p["wrong_amount"], amount=999)
    payment_record_transfer(payment=p["wrong_amount"], transfer_id=wrong.id, source="test")
    elsewhere = stripe_sandbox.create_account(onboarded=True)["id"]
    moved = transfer(p["wrong_destination"], destination=elsewhere)
    payment_record_transfer(payment=p["wrong_destination"], transfer_id=moved.id, source="test")
    # Stripe made it, Honora has not recorded it (the answer was lost).
    stripe_sandbox.faults.add("drop_after", method="POST", path="/v1/transfers")
    assert engine.pay(p["lost"].pk) == "retry"
    # Returned here (its bank payout failed), yet the transfer is still live at Stripe:
    # the reversal has not been made yet.
    outcome = payment_apply_payout(
        account_id=p["returned"].consultant.stripe_account.account_id,
        payout={
            "id": "po_returned",
            "amount": int(p["returned"].amount * 100),
            "created": int(time.time()),
            "failure_code": "account_closed",
        },
        failed=True,
    )
    assert outcome == "1 payment(s) returned"
    # Cancelled here, yet a transfer exists for it.
    payment_record_failure(payment=p["cancelled"], code="x", message="Refused.")
    payment_cancel(payment=p["cancelled"], by=finance, reason="Paid another way")
    transfer(p["cancelled"])
    # And a transfer that belongs to no payment at all.
    stranger = transfer(p["ok"], group=str(uuid.uuid4()))

    before = {
        "payments": list(Payment.objects.order_by("pk").values()),
        "history": Payment.history.count(),
        "attempts": list(PaymentAttempt.objects.order_by("pk").values()),
    }
    requests_before = len(stripe_sandbox.requests)
    code, out = reconcile()
    assert code == 1
    lines = out.strip().splitlines()
    kinds = {line.split(":", 1)[0] for line in lines}
    assert kinds == {
        "paid_without_live_transfer",
        "two_live_transfers",
        "transfer_differs",
        "live_transfer_not_paid_locally",
        "live_transfer_for_returned_payment",
        "live_transfer_for_closed_payment",
        "transfer_without_payment",
    }

    def about(name):
        return [line for line in lines if str(p[name].public_id) in line]

    assert about("ok") == []
    assert [line.split(":")[0] for line in about("unpaid_at_stripe")] == [
        "paid_without_live_transfer"
    ]
    assert any(second.id in line for line in about("twice"))
    assert "amount 999 cents, expected 1300" in " ".join(about("wrong_amount"))
    assert f"destination {elsewhere}" in " ".join(about("wrong_destination"))
    assert [line.split(":")[0] for line in about("lost")] == ["live_transfer_not_paid_locally"]
    assert [line.split(":")[0] for line in about("returned")] == [
        "live_transfer_for_returned_payment"
    ]
    assert [line.split(":")[0] for line in about("cancelled")] == [
        "live_transfer_for_closed_payment"
    ]
    assert any(
        stranger.id in line and line.startswith("transfer_without_payment") for line in lines
    )
    # No names in the report.
    for payment in p.values():
        assert payment.consultant.display_name not in out

    # It changed nothing, here or at Stripe.
    assert list(Payment.objects.order_by("pk").values()) == before["payments"]
    assert Payment.history.count() == before["history"]
    assert list(PaymentAttempt.objects.order_by("pk").values()) == before["attempts"]
    assert {r["method"] for r in stripe_sandbox.requests[requests_before:]} == {"GET"}


def test_since_limits_the_comparison(world, stripe_sandbox):
    _, p = world
    transfer(p["ok"], group=str(uuid.uuid4()))
    code, out = reconcile("--since", date(2999, 1, 1).isoformat())
    assert code == 0, out
    code, out = reconcile("--since", date(2020, 1, 1).isoformat())
    assert code == 1 and "transfer_without_payment" in out
