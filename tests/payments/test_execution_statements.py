"""What paying one Stripe payment costs the database: a fixed number of statements.

However many contributions a payment pays, the engine claims it, calls Stripe and
records the transfer with the same statements (the contributions are marked paid by
one UPDATE and their history rows by one INSERT), and every state change still has
its one history row, with the same actor, action and reason.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.models import Contribution
from payments import actions
from payments.models import Payment, PaymentAttempt
from payments.stripe import engine

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]


def statements_to_pay(payment) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert engine.pay(payment.pk) == "paid"
    return [q["sql"] for q in ctx.captured_queries]


def test_statements_per_payment_do_not_grow_with_its_items(payout_world):
    payout_world.consultant(["125.00"])
    payout_world.consultant(["10.00"] * 12)
    payout_world.consultant(["1.00"])  # keeps the batch open while the others are paid
    batch = payout_world.executed_batch()
    small, large, last = Payment.objects.filter(batch=batch).order_by("pk")
    assert (small.items.count(), large.items.count()) == (1, 12)

    few, many = statements_to_pay(small), statements_to_pay(large)
    assert len(few) == len(many)
    assert len(many) <= 20  # claim, call, record, and the check whether the batch is done
    writes = [s for s in many if s.startswith(("INSERT", "UPDATE"))]
    # The new attempt, then the attempt succeeded, the payment paid and its work paid:
    # each one write and one INSERT of its history rows.
    assert len(writes) == 8
    statements_to_pay(last)

    for payment in (small, large):
        payment.refresh_from_db()
        assert payment.status == Payment.Status.PAID
        [paid] = payment.history.filter(history_action="payment.paid")
        assert paid.history_user is None and paid.history_change_reason == "Stripe transfer"
        assert paid.status == Payment.Status.PAID and paid.transfer_id == payment.transfer_id
        [attempt] = PaymentAttempt.objects.filter(payment=payment)
        assert list(
            attempt.history.order_by("history_id").values_list("history_action", "status")
        ) == [
            (actions.ATTEMPT_STARTED, "started"),
            (actions.ATTEMPT_SUCCEEDED, "succeeded"),
        ]
        for c in Contribution.objects.filter(payment_items__payment=payment):
            assert c.status == Contribution.Status.PAID
            [row] = c.history.filter(history_action="contribution.paid")
            assert row.status == Contribution.Status.PAID and row.history_user is None
            assert row.history_change_reason == ""
