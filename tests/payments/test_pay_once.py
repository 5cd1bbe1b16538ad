"""No second payment of the same work, and disputes stop money (issue 11).

- A paid payment is never voided; money that came back is "returned", recorded by a
  second finance person with a reason, and the work's next payment is flagged with
  the first payment's history.
- The database itself refuses a second PAID payment for the same contribution,
  whichever path tries; the pages and the API answer such a race with 409.
- An open dispute holds its entry out of every batch (the batch page quotes it),
  holds a payment that already carries it, and shows on the consultant's portal;
  once resolved, the work goes in the next batch.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from consultants.models import PayoutMethod
from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.models import Contribution, Engagement
from engagements.services.contributions import contribution_adjust
from engagements.services.disputes import dispute_open, dispute_resolve
from engagements.services.reviews import contribution_approve
from payments.models import Payment, PaymentItem, PayoutBatch, Rail
from payments.services.batches import batch_build, batch_execute
from payments.services.finance import (
    payment_mark_returned,
    payment_record_manual,
    payment_release_hold,
    payment_void,
)
from tests.api.conftest import client_for
from tests.factories import ConsultantFactory, EngagementFactory, UserFactory
from tests.payments.payout_support import (
    CUTOFF,
    approved,
    approved_batch,
    consultant_with_work,
    executed_batch,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
HANDED = date(2026, 4, 1)


def fresh(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def work_of(consultant) -> list[Contribution]:
    return list(Contribution.objects.filter(engagement__consultant=consultant).order_by("pk"))


def paid_check(finance, finance2, coordinator, *, reference="CHK-4") -> Payment:
    """A check for one consultant's work, executed and recorded as handed over by ``finance``."""
    consultant_with_work(approver=coordinator, method=PayoutMethod.CHECK, name="Wren")
    payment = executed_batch(builder=finance, approver=finance2).payments.get()
    return payment_record_manual(
        payment=payment, by=finance, reference=reference, handed_over_on=HANDED
    )


# --- 1. a paid payment is never voided; what came back is returned, by a second person ----


def test_a_paid_check_is_never_voided_so_its_work_is_not_paid_again(finance, finance2, coordinator):
    """The issue's reproduction: CHK-4 voided after it was paid, then paid again as CHK-99."""
    payment = paid_check(finance, finance2, coordinator)
    with pytest.raises(StateConflict) as refused:
        payment_void(payment=payment, by=finance2, reason="Wrong amount")
    assert refused.value.code == "paid_not_voided"
    p = fresh(payment)
    assert (p.status, p.closed_reason) == (PS.PAID, "")
    assert p.items.filter(live=True).count() == 1
    assert {c.status for c in work_of(p.consultant)} == {Contribution.Status.PAID}
    # Nothing is left for a next batch to pick up.
    with pytest.raises(ValidationFailed) as nothing:
        batch_build(by=finance2, cutoff_date=CUTOFF)
    assert nothing.value.code == "nothing_to_pay"
    assert Payment.objects.filter(status=PS.PAID).count() == 1


def test_the_void_button_is_gone_and_a_posted_void_is_a_409(client, finance, finance2, coordinator):
    payment = paid_check(finance, finance2, coordinator)
    client.force_login(finance2)
    url = reverse("payments:payment", kwargs={"public_id": payment.public_id})
    void_url = reverse("payments:payment_void", kwargs={"public_id": payment.public_id})
    assert void_url not in client.get(url).content.decode()
    response = client.post(void_url, {"void-reason": "Wrong amount"})
    assert response.status_code == 409
    assert "never voided" in response.content.decode()
    api = client_for(finance2).post(
        f"/api/v1/payments/{payment.public_id}/void/", {"reason": "Wrong amount"}, format="json"
    )
    assert api.status_code == 409 and api.json()["code"] == "paid_not_voided"
    assert fresh(payment).status == PS.PAID


def test_a_check_not_handed_over_is_voided_but_never_by_its_payee(finance, finance2, coordinator):
    me = ConsultantFactory(user=finance2, payout_method=PayoutMethod.CHECK)
    approved(EngagementFactory(consultant=me), approver=coordinator)
    third = UserFactory(roles=["finance"])
    payment = executed_batch(builder=finance, approver=third).payments.get()
    with pytest.raises(NotAllowed) as own:
        payment_void(payment=payment, by=finance2, reason="Lost")
    assert own.value.code == "own_payment"
    assert fresh(payment).status == PS.PROCESSING
    voided = payment_void(payment=payment, by=finance, reason="Check lost before hand-over")
    assert voided.status == PS.VOIDED
    assert not voided.items.filter(live=True).exists()


def test_returned_needs_a_second_finance_person_and_a_reason(finance, finance2, coordinator):
    payment = paid_check(finance, finance2, coordinator)
    with pytest.raises(NotAllowed) as same:
        payment_mark_returned(payment=payment, by=finance, reason="Bounced")
    assert same.value.code == "second_person"
    with pytest.raises(ValidationFailed) as reason:
        payment_mark_returned(payment=payment, by=finance2, reason="  ")
    assert reason.value.field == "reason"
    assert fresh(payment).status == PS.PAID
    p = payment_mark_returned(payment=payment, by=finance2, reason="Check bounced: account closed")
    assert (p.status, p.closed_reason) == (PS.RETURNED, "Check bounced: account closed")
    last = p.history.order_by("-history_id").first()
    assert last.history_user_id == finance2.pk


def test_the_page_tells_who_recorded_it_that_a_second_person_marks_it_returned(
    client, finance, finance2, coordinator
):
    payment = paid_check(finance, finance2, coordinator)
    url = reverse("payments:payment", kwargs={"public_id": payment.public_id})
    returned_url = reverse(
        "payments:payment_mark_returned", kwargs={"public_id": payment.public_id}
    )
    client.force_login(finance)
    page = client.get(url).content.decode()
    assert returned_url not in page
    assert "another finance person records that it came back" in page
    assert client.post(returned_url, {"return-reason": "Bounced"}).status_code == 403
    assert fresh(payment).status == PS.PAID
    client.force_login(finance2)
    assert returned_url in client.get(url).content.decode()


def test_work_from_a_returned_check_is_flagged_in_the_next_batch_with_its_history(
    client, finance, finance2, coordinator
):
    first = paid_check(finance, finance2, coordinator)
    payment_mark_returned(payment=first, by=finance2, reason="Check bounced: account closed")
    batch = batch_build(by=finance, cutoff_date=CUTOFF)
    again = batch.payments.get()
    assert again.amount == first.amount
    assert "CHK-4" in again.alert
    assert f"paid {first.paid_at:%Y-%m-%d}" in again.alert
    assert "Check bounced: account closed" in again.alert
    assert "came back" in again.alert
    assert again.history.filter(history_action="payment.flagged").exists()
    client.force_login(finance2)
    page = client.get(reverse("payments:batch", kwargs={"public_id": batch.public_id}))
    assert "Check bounced: account closed" in page.content.decode()


# --- 2. the database refuses a second paid payment for the same work ---------------------


def _second_payment(first: Payment, *, finance, finance2, status=PS.PROCESSING) -> Payment:
    """Straight through the ORM: another payment in another batch for ``first``'s work,
    its item released (so the live-item index does not stop it)."""
    now = timezone.now()
    batch = PayoutBatch.objects.create(
        cutoff_date=CUTOFF,
        created_by=finance,
        status=PayoutBatch.Status.PROCESSING,
        approved_by=finance2,
        approved_at=now,
    )
    second = Payment.objects.create(
        batch=batch,
        consultant_id=first.consultant_id,
        method=PayoutMethod.CHECK,
        rail=Rail.MANUAL,
        amount=first.amount,
        status=status,
        paid_at=now if status == PS.PAID else None,
    )
    return second


def _copy_items(first: Payment, second: Payment, *, live: bool) -> None:
    for item in first.items.all():
        PaymentItem.objects.create(
            payment=second,
            contribution_id=item.contribution_id,
            amount=item.amount,
            live=live,
            released_at=None if live else timezone.now(),
            release_reason="" if live else "test",
        )


def test_the_database_refuses_a_second_paid_payment_for_the_same_work(
    finance, finance2, coordinator
):
    first = paid_check(finance, finance2, coordinator)
    second = _second_payment(first, finance=finance, finance2=finance2)
    _copy_items(first, second, live=False)
    # Marking it paid: refused, by an update of the row...
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=second.pk).update(status=PS.PAID, paid_at=timezone.now())
    # ...and by a save.
    second.status, second.paid_at = PS.PAID, timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    # A paid payment given the same work afterwards: refused too.
    third = _second_payment(first, finance=finance, finance2=finance2, status=PS.PAID)
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy_items(first, third, live=False)
    # And a paid payment never becomes voided, whoever writes it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=first.pk).update(status=PS.VOIDED, closed_reason="x")
    work = list(first.items.values_list("contribution_id", flat=True))
    paying = Payment.objects.filter(status=PS.PAID, items__contribution_id__in=work).distinct()
    assert list(paying) == [first]
    assert fresh(second).status == PS.PROCESSING


def test_a_race_to_pay_the_same_work_twice_is_a_409_on_the_page_and_the_api(
    client, finance, finance2, coordinator
):
    first = paid_check(finance, finance2, coordinator)
    second = _second_payment(first, finance=finance, finance2=finance2)
    _copy_items(first, second, live=False)
    client.force_login(finance2)
    url = reverse("payments:payment_record", kwargs={"public_id": second.public_id})
    page = client.post(url, {"record-reference": "CHK-99", "record-handed_over_on": "2026-04-02"})
    assert page.status_code == 409
    assert "already paid by another payment" in page.content.decode()
    api = client_for(finance2).post(
        f"/api/v1/payments/{second.public_id}/record_manual/",
        {"reference": "CHK-99", "handed_over_on": "2026-04-02"},
        format="json",
    )
    assert api.status_code == 409 and api.json()["code"] == "already_paid"
    p = fresh(second)
    assert (p.status, p.reference) == (PS.PROCESSING, "")
    assert Payment.objects.filter(status=PS.PAID).count() == 1


def test_a_caller_that_answers_the_409_goes_on_in_its_own_transaction(
    finance, finance2, coordinator
):
    """The refusal of a second paid payment is rolled back to its own savepoint, so a
    caller that turns the 409 into an answer (a webhook handler recording what it did)
    can still write in the same transaction."""
    first = paid_check(finance, finance2, coordinator)
    second = _second_payment(first, finance=finance, finance2=finance2)
    _copy_items(first, second, live=False)
    with transaction.atomic():
        with pytest.raises(StateConflict):
            payment_record_manual(
                payment=second, by=finance2, reference="CHK-99", handed_over_on=date(2026, 4, 2)
            )
        # Still usable: a write after the refusal, in the same transaction.
        Payment.objects.filter(pk=second.pk).update(alert="seen")
    p = fresh(second)
    assert (p.status, p.alert) == (PS.PROCESSING, "seen")


# --- 3. disputes stop money -----------------------------------------------------------------


def _two_entries(coordinator, method=PayoutMethod.CHECK):
    consultant = consultant_with_work(approver=coordinator, method=method, items=2)
    return consultant, work_of(consultant)


def test_an_open_dispute_holds_the_entry_out_of_the_batch_and_the_page_quotes_it(
    client, finance, finance2, coordinator
):
    """The issue's reproduction: disputed "2.5 h not 2", and paid anyway."""
    consultant, (disputed, other) = _two_entries(coordinator)
    dispute_open(contribution=disputed, by=consultant.user, comment="2.5 h not 2")
    batch = batch_build(by=finance, cutoff_date=CUTOFF)
    payment = batch.payments.get()
    assert list(payment.items.values_list("contribution_id", flat=True)) == [other.pk]
    assert payment.amount == other.amount
    client.force_login(finance2)
    page = client.get(reverse("payments:batch", kwargs={"public_id": batch.public_id}))
    text = page.content.decode()
    assert "Disputed work held out" in text and "2.5 h not 2" in text


def test_disputed_work_alone_is_nothing_to_pay(finance, coordinator):
    consultant = consultant_with_work(approver=coordinator)
    [entry] = work_of(consultant)
    dispute_open(contribution=entry, by=consultant.user, comment="2.5 h not 2")
    with pytest.raises(ValidationFailed) as nothing:
        batch_build(by=finance, cutoff_date=CUTOFF)
    assert nothing.value.code == "nothing_to_pay"


def test_a_dispute_on_work_in_an_unexecuted_batch_holds_that_payment_until_resolved(
    finance, finance2, coordinator, coordinator2
):
    consultant, (disputed, _other) = _two_entries(coordinator)
    batch = approved_batch(builder=finance, approver=finance2)
    payment = batch.payments.get()
    assert payment.status == PS.PENDING
    dispute = dispute_open(contribution=disputed, by=consultant.user, comment="2.5 h not 2")
    p = fresh(payment)
    assert (p.status, p.hold_reason) == (PS.HELD, Payment.Hold.DISPUTED)
    assert "2.5 h not 2" in p.hold_detail
    # Executing does not send it, and finance cannot release it while the dispute is open.
    batch_execute(batch=batch, by=finance)
    assert fresh(payment).status == PS.HELD
    with pytest.raises(StateConflict) as held:
        payment_release_hold(payment=payment, by=finance2)
    assert held.value.code == "still_held" and "2.5 h not 2" in held.value.message
    # Resolved: released, and it is paid as usual.
    dispute_resolve(dispute=dispute, by=coordinator2, resolution="2 h is right: checked")
    released = payment_release_hold(payment=payment, by=finance2)
    assert released.status == PS.PROCESSING
    paid = payment_record_manual(
        payment=payment, by=finance2, reference="1001", handed_over_on=HANDED
    )
    assert paid.status == PS.PAID


def test_a_dispute_on_a_check_not_yet_handed_over_stops_the_hand_over(
    finance, finance2, coordinator
):
    consultant, (disputed, _other) = _two_entries(coordinator)
    payment = executed_batch(builder=finance, approver=finance2).payments.get()
    assert payment.status == PS.PROCESSING
    dispute_open(contribution=disputed, by=consultant.user, comment="2.5 h not 2")
    assert fresh(payment).status == PS.HELD
    with pytest.raises(StateConflict):
        payment_record_manual(payment=payment, by=finance, reference="1001", handed_over_on=HANDED)
    assert fresh(payment).status == PS.HELD


def test_resolving_with_an_adjustment_lets_the_work_go_in_the_next_batch(
    finance, coordinator, coordinator2
):
    consultant = consultant_with_work(approver=coordinator)
    [entry] = work_of(consultant)
    dispute = dispute_open(contribution=entry, by=consultant.user, comment="2.5 h not 2")
    adjustment = contribution_adjust(
        contribution=entry, by=coordinator, reason="Consultant worked 2.5 h", quantity_delta="0.5"
    )
    adjustment = contribution_approve(contribution=adjustment, by=coordinator2)
    adjustment.refresh_from_db()
    # The adjustment alone may go; the disputed entry still waits.
    first = batch_build(by=finance, cutoff_date=CUTOFF).payments.get()
    assert set(first.items.values_list("contribution_id", flat=True)) == {adjustment.pk}
    dispute_resolve(dispute=dispute, by=coordinator2, resolution="Adjusted by +0.5 h")
    second = batch_build(by=finance, cutoff_date=CUTOFF).payments.get()
    assert set(second.items.values_list("contribution_id", flat=True)) == {entry.pk}
    assert first.amount + second.amount == entry.amount + adjustment.amount
    assert adjustment.amount == entry.amount / 4 > Decimal("0")


def test_the_consultant_sees_that_the_disputed_entry_waits(client, coordinator):
    consultant = consultant_with_work(approver=coordinator)
    [entry] = work_of(consultant)
    dispute_open(contribution=entry, by=consultant.user, comment="2.5 h not 2")
    client.force_login(consultant.user)
    listing = client.get(reverse("portal:contributions")).content.decode()
    assert "Payment waits until the dispute is resolved" in listing
    detail = client.get(
        reverse("portal:contribution", kwargs={"public_id": entry.public_id})
    ).content.decode()
    assert "It is not paid while the dispute is open" in detail
    assert Engagement.objects.filter(consultant=consultant).exists()
