"""Every forbidden step is refused with a clear error, and nothing changes.

The services refuse what the rules forbid; the database refuses what no service
does (editing a payment item, moving a paid payment back), in case code ever tries.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.errors import NotAllowed, StateConflict
from payments.models import Payment, PaymentItem, PayoutBatch
from payments.services.batches import (
    batch_approve,
    batch_build,
    batch_cancel,
    batch_execute,
    batch_submit,
)
from payments.services.finance import payment_release_hold, payment_retry
from payments.services.lifecycle import payment_record_transfer
from payments.stripe import engine
from payments.stripe.events import payment_apply_transfer_reversed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
BS = PayoutBatch.Status


def snapshot(batch) -> dict:
    b = PayoutBatch.objects.get(pk=batch.pk)
    return {
        "batch": PayoutBatch.objects.filter(pk=b.pk).values().get(),
        "batch_history": b.history.count(),
        "payments": list(Payment.objects.filter(batch=b).order_by("pk").values()),
        "payment_history": Payment.history.filter(batch_id=b.pk).count(),
        "items": list(PaymentItem.objects.filter(payment__batch=b).order_by("pk").values()),
    }


@pytest.fixture
def submitted(payout_world):
    payout_world.consultant(["100.00"])
    batch = batch_build(by=payout_world.finance, cutoff_date=date(2026, 3, 31))
    return batch_submit(batch=batch, by=payout_world.finance)


def test_nobody_approves_a_batch_they_built(submitted, finance):
    before = snapshot(submitted)
    with pytest.raises(NotAllowed) as caught:
        batch_approve(batch=submitted, by=finance)
    assert caught.value.code == "own_batch"
    assert "another finance person must approve" in caught.value.message
    assert snapshot(submitted) == before


def test_only_finance_approves(submitted, coordinator):
    before = snapshot(submitted)
    with pytest.raises(NotAllowed):
        batch_approve(batch=submitted, by=coordinator)
    assert snapshot(submitted) == before


def test_an_unapproved_batch_is_not_executed(submitted, finance, finance2, stripe_sandbox):
    before = snapshot(submitted)
    with pytest.raises(StateConflict) as caught:
        batch_execute(batch=submitted, by=finance2)
    assert "waiting for a second approver" in caught.value.message
    assert snapshot(submitted) == before
    assert stripe_sandbox.requests == []


def test_nobody_approves_or_executes_a_batch_that_pays_them(payout_world, finance2):
    from tests.factories import UserFactory

    third = UserFactory(roles=["finance"])
    payout_world.consultant(["100.00"], user=finance2)  # finance2 is also a consultant
    batch = batch_build(by=payout_world.finance, cutoff_date=date(2026, 3, 31))
    batch_submit(batch=batch, by=payout_world.finance)
    before = snapshot(batch)
    with pytest.raises(NotAllowed) as caught:
        batch_approve(batch=batch, by=finance2)
    assert caught.value.code == "own_payment"
    assert snapshot(batch) == before
    batch_approve(batch=batch, by=third)
    before = snapshot(batch)
    with pytest.raises(NotAllowed) as caught:
        batch_execute(batch=batch, by=finance2)
    assert caught.value.code == "own_payment"
    assert snapshot(batch) == before


def test_a_held_payment_is_not_paid_by_any_route(payout_world, finance, stripe_sandbox):
    payout_world.consultant(["100.00"], onboarded=False)
    batch = payout_world.executed_batch()
    [held] = Payment.objects.filter(batch=batch)
    assert held.status == PS.HELD and held.hold_reason == Payment.Hold.ACCOUNT_NOT_READY
    before = snapshot(batch)
    assert engine.pay(held.pk) == "skipped"
    for attempt in (
        lambda: payment_retry(payment=held, by=finance),
        lambda: payment_record_transfer(payment=held, transfer_id="tr_1", source="x"),
        lambda: payment_release_hold(payment=held, by=finance),  # still not ready
    ):
        with pytest.raises(StateConflict):
            attempt()
    assert snapshot(batch) == before
    assert stripe_sandbox.requests == []


def test_a_cancelled_batch_cannot_be_executed_and_an_executing_one_not_cancelled(
    payout_world, finance, finance2
):
    payout_world.consultant(["100.00"])
    batch = payout_world.approved_batch()
    batch_execute(batch=batch, by=finance)
    before = snapshot(batch)
    with pytest.raises(StateConflict):
        batch_cancel(batch=batch, by=finance2, reason="changed our mind")
    assert snapshot(batch) == before


# --- the database itself -----------------------------------------------------------------------


@pytest.fixture
def paid_payment(payout_world):
    payout_world.consultant(["125.00", "40.50"])
    batch = payout_world.executed_batch()
    [p] = Payment.objects.filter(batch=batch)
    assert engine.pay(p.pk) == "paid"
    return Payment.objects.get(pk=p.pk)


def refused(change) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        change()


def test_a_paid_item_cannot_be_edited(paid_payment, payout_world):
    item = paid_payment.items.order_by("pk").first()
    other = PaymentItem.objects.exclude(pk=item.pk).get(payment=paid_payment)
    before = list(PaymentItem.objects.order_by("pk").values())
    history = PaymentItem.history.count()

    def amount():
        item.amount = Decimal("999.00")
        item.save()

    def contribution():
        PaymentItem.objects.filter(pk=item.pk).update(contribution=other.contribution_id)

    def payment():
        another = payout_world.consultant(["5.00"])
        batch = payout_world.approved_batch()
        PaymentItem.objects.filter(pk=item.pk).update(
            payment=Payment.objects.get(batch=batch, consultant=another)
        )

    for change in (amount, contribution, payment):
        refused(change)
    assert list(PaymentItem.objects.filter(payment=paid_payment).order_by("pk").values()) == [
        row for row in before if row["payment_id"] == paid_payment.pk
    ]
    assert PaymentItem.history.filter(payment_id=paid_payment.pk).count() == 2
    assert PaymentItem.history.count() == history


def test_a_paid_payment_never_moves_back_nor_changes_its_amount_or_transfer(paid_payment):
    for change in (
        {"status": PS.PROCESSING},
        {"status": PS.FAILED},
        {"status": PS.PENDING},
        {"amount": Decimal("1.00")},
        {"transfer_id": "tr_someone_else"},
    ):
        refused(lambda change=change: Payment.objects.filter(pk=paid_payment.pk).update(**change))
    p = Payment.objects.get(pk=paid_payment.pk)
    assert (p.status, p.amount, p.transfer_id) == (
        PS.PAID,
        paid_payment.amount,
        paid_payment.transfer_id,
    )


def test_a_released_item_stays_released_and_a_closed_payment_stays_closed(paid_payment):
    # Stripe reports the transfer fully reversed: the payment is returned, its work released.
    cents = int(paid_payment.amount * 100)
    outcome = payment_apply_transfer_reversed(
        transfer={
            "id": paid_payment.transfer_id,
            "amount": cents,
            "amount_reversed": cents,
            "reversed": True,
        }
    )
    assert outcome == "payment returned"
    item = PaymentItem.objects.filter(payment=paid_payment).first()
    assert not item.live
    refused(lambda: PaymentItem.objects.filter(pk=item.pk).update(live=True))
    refused(lambda: Payment.objects.filter(pk=paid_payment.pk).update(status=PS.PAID))
    with pytest.raises(StateConflict):
        payment_record_transfer(
            payment=paid_payment, transfer_id=paid_payment.transfer_id, source="late news"
        )
    assert Payment.objects.get(pk=paid_payment.pk).status == PS.RETURNED


def test_history_names_a_plain_field_that_ends_in_id(paid_payment):
    """transfer_id is a Stripe id, not a foreign key: its change reads as itself."""
    from core.history import history_entries

    changes = [c for e in history_entries(paid_payment) for c in e.changes]
    [change] = [c for c in changes if c.field == "transfer_id"]
    assert (change.old, change.new) == ("not set", paid_payment.transfer_id)
