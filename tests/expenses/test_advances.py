"""An advance: granted, approved by another coordinator, paid in a batch, settled."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.models import Contribution
from engagements.services.reviews import contribution_approve
from expenses.models import Advance, Settlement
from expenses.services import (
    advance_grant,
    advance_pay_now,
    advance_receipt_add,
    advance_settle,
)
from payments.models import Payment
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from payments.services.finance import payment_record_manual
from tests.expenses.support import jpeg_with_gps, plain_jpeg, stored_bytes

pytestmark = pytest.mark.django_db


def _grant(engagement, coordinator, amount="120.00"):
    return advance_grant(
        engagement=engagement,
        by=coordinator,
        purpose="Train to the March session",
        planned_for=timezone.localdate() + timedelta(days=10),
        amount=amount,
    )


def _pay(batch, finance, finance2):
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    payment = batch.payments.get()
    assert payment.status == "processing", payment.hold_detail
    return payment_record_manual(
        payment=payment,
        by=finance,
        reference="A-1",
        handed_over_on=timezone.localdate(),
    )


@pytest.fixture
def paid_advance(engagement, coordinator, coordinator2, finance, finance2):
    """Granted, approved by the other coordinator, paid in the next batch by check."""
    engagement.consultant.payout_method = "check"
    engagement.consultant.save()
    advance = _grant(engagement, coordinator)
    contribution_approve(contribution=advance.contribution, by=coordinator2)
    batch = batch_build(by=finance, cutoff_date=timezone.localdate())
    _pay(batch, finance, finance2)
    advance.refresh_from_db()
    return advance


def test_granting_makes_a_submitted_reimbursement_that_another_coordinator_approves(
    engagement, coordinator, coordinator2
):
    advance = _grant(engagement, coordinator)
    c = advance.contribution
    assert c.kind == "reimbursement" and c.status == "submitted"
    assert c.claimed_amount == Decimal("120.00")
    assert c.description == "Advance: Train to the March session"
    assert advance.standing == "granted" and advance.granted_by == coordinator
    with pytest.raises(NotAllowed):  # separation of duties
        contribution_approve(contribution=c, by=coordinator)
    assert contribution_approve(contribution=c, by=coordinator2).status == "approved"


def test_only_a_coordinator_grants(engagement, consultant, finance):
    for who in (consultant.user, finance):
        with pytest.raises(NotAllowed):
            _grant(engagement, who)
    assert not Advance.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-5", "10000.01", "1.001", "1e30"])
def test_an_advance_amount_out_of_bounds_is_refused(engagement, coordinator, amount):
    with pytest.raises(ValidationFailed) as caught:
        _grant(engagement, coordinator, amount=amount)
    assert caught.value.field == "amount"
    assert not Contribution.objects.exists()


def test_advance_paid_in_the_next_batch_and_settled_with_more_spent(
    paid_advance, consultant, coordinator, coordinator2
):
    assert paid_advance.standing == "paid"
    assert paid_advance.contribution.status == "paid"
    receipt = advance_receipt_add(
        advance=paid_advance, by=consultant.user, amount="95.00", upload=jpeg_with_gps()
    )
    assert b"PhoneMaker" not in stored_bytes(receipt.file)
    advance_receipt_add(advance=paid_advance, by=coordinator, amount="40.50", upload=plain_jpeg())
    settlement = advance_settle(advance=paid_advance, by=coordinator)
    assert settlement.spent == Decimal("135.50")
    assert settlement.advance_amount == Decimal("120.00")
    assert settlement.difference == Decimal("15.50")
    assert settlement.outcome == "difference_paid"
    extra = settlement.difference_contribution
    assert extra.kind == "reimbursement" and extra.status == "submitted"
    assert extra.claimed_amount == Decimal("15.50")
    assert "Train to the March session" in extra.description
    assert contribution_approve(contribution=extra, by=coordinator2).status == "approved"
    paid_advance.refresh_from_db()
    assert paid_advance.standing == "settled"


def test_less_spent_is_noted_and_nothing_is_asked_back(paid_advance, consultant, coordinator):
    advance_receipt_add(
        advance=paid_advance, by=consultant.user, amount="100.00", upload=plain_jpeg()
    )
    before = Contribution.objects.count()
    settlement = advance_settle(advance=paid_advance, by=coordinator, note="Fare was cheaper")
    assert settlement.outcome == "kept"
    assert settlement.difference == Decimal("-20.00")
    assert settlement.difference_contribution is None
    assert Contribution.objects.count() == before  # no negative entry, no demand
    assert not Contribution.objects.filter(claimed_amount__lt=0).exists()


def test_settling_twice_is_a_conflict(paid_advance, coordinator):
    advance_settle(advance=paid_advance, by=coordinator)
    with pytest.raises(StateConflict):
        advance_settle(advance=paid_advance, by=coordinator)
    assert Settlement.objects.count() == 1


def test_settling_before_payment_is_a_conflict(engagement, coordinator):
    advance = _grant(engagement, coordinator)
    with pytest.raises(StateConflict, match="not paid yet"):
        advance_settle(advance=advance, by=coordinator)


def test_receipts_after_settlement_are_a_conflict(paid_advance, consultant, coordinator):
    advance_settle(advance=paid_advance, by=coordinator)
    with pytest.raises(StateConflict):
        advance_receipt_add(
            advance=paid_advance, by=consultant.user, amount="5.00", upload=plain_jpeg()
        )


def test_another_consultant_cannot_add_receipts(paid_advance, outsider):
    with pytest.raises(NotAllowed):
        advance_receipt_add(
            advance=paid_advance, by=outsider.user, amount="5.00", upload=plain_jpeg()
        )


def test_settlements_are_never_edited(paid_advance, coordinator):
    from core.append_only import AppendOnlyError

    settlement = advance_settle(advance=paid_advance, by=coordinator)
    with pytest.raises(AppendOnlyError):
        settlement.save()
    with pytest.raises(AppendOnlyError):
        Settlement.objects.all().delete()


def test_finance_pays_one_advance_at_once_by_a_manual_method(
    engagement, coordinator, coordinator2, finance, finance2
):
    engagement.consultant.payout_method = "stripe"
    engagement.consultant.save()
    other = contribution_approve(
        contribution=_grant(engagement, coordinator, amount="10.00").contribution,
        by=coordinator2,
    )
    advance = _grant(engagement, coordinator)
    contribution_approve(contribution=advance.contribution, by=coordinator2)
    batch = advance_pay_now(advance=advance, by=finance, method="cash")
    payment = batch.payments.get()
    assert payment.method == "cash" and payment.rail == "manual"
    assert [i.contribution_id for i in payment.items.all()] == [advance.contribution_id]
    assert payment.amount == Decimal("120.00")
    batch_submit(batch=batch, by=finance)
    with pytest.raises(NotAllowed):  # the batch's two-person rule stands
        batch_approve(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    _paid = Payment.objects.get(pk=_pay_rest(batch, finance, finance2).pk)
    assert _paid.status == "paid"
    advance.refresh_from_db()
    assert advance.standing == "paid"
    other.refresh_from_db()
    assert other.status == "approved"  # waits for the next batch


def _pay_rest(batch, finance, finance2):
    batch_execute(batch=batch, by=finance2)
    payment = batch.payments.get()
    return payment_record_manual(
        payment=payment, by=finance, reference="C-1", handed_over_on=timezone.localdate()
    )


def test_pay_now_needs_an_approved_advance_and_finance(engagement, coordinator, finance):
    advance = _grant(engagement, coordinator)
    with pytest.raises(NotAllowed):
        advance_pay_now(advance=advance, by=coordinator, method="cash")
    with pytest.raises(StateConflict):
        advance_pay_now(advance=advance, by=finance, method="cash")
    with pytest.raises(ValidationFailed):
        advance_pay_now(advance=advance, by=finance, method="stripe")


def test_an_advance_for_a_date_past_a_year_is_refused(engagement, coordinator):
    with pytest.raises(ValidationFailed) as caught:
        advance_grant(
            engagement=engagement,
            by=coordinator,
            purpose="Far away",
            planned_for=date.today() + timedelta(days=400),
            amount="10.00",
        )
    assert caught.value.field == "planned_for"
