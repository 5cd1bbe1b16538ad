from datetime import date
from decimal import Decimal

import pytest

from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.models import Contribution, Rate
from engagements.services.contributions import (
    contribution_adjust,
    contribution_create,
    contribution_submit,
    contribution_update,
)
from engagements.services.engagements import rate_add
from engagements.services.reviews import contribution_approve, contribution_reject
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

S = Contribution.Status


def log(engagement, by, **overrides):
    fields = {
        "kind": "hours",
        "activity": "work",
        "date": date(2026, 3, 12),
        "quantity": Decimal("2"),
        "description": "Advisory call",
    }
    fields.update(overrides)
    return contribution_create(engagement=engagement, by=by, **fields)


def test_coordinator_logs_a_draft_and_consultant_entries_arrive_submitted(
    engagement, coordinator, consultant_user
):
    draft = log(engagement, coordinator)
    assert draft.status == S.DRAFT
    own = log(engagement, consultant_user)
    assert own.status == S.SUBMITTED
    assert own.submitted_at is not None


def test_a_consultant_cannot_log_on_someone_elses_engagement(outsider_engagement, consultant_user):
    with pytest.raises(NotAllowed):
        log(outsider_engagement, consultant_user)
    assert Contribution.objects.count() == 0


def test_approval_freezes_amount_from_rate_in_force_on_the_day(
    engagement, coordinator, coordinator2
):
    card = engagement.rate_card
    Rate.objects.create(
        rate_card=card,
        kind="hourly",
        amount=Decimal("70.00"),
        floor=Decimal("57"),
        effective_from=date(2026, 4, 1),
    )
    march = log(engagement, coordinator, quantity=Decimal("2.5"), submit=True)
    april = log(
        engagement, coordinator, date=date(2026, 4, 2), quantity=Decimal("1.25"), submit=True
    )
    march = contribution_approve(contribution=march, by=coordinator2)
    april = contribution_approve(contribution=april, by=coordinator2)
    assert (march.rate, march.amount) == (Decimal("60.00"), Decimal("150.00"))
    assert (april.rate, april.amount) == (Decimal("70.00"), Decimal("87.50"))

    # A later rate never changes an approved amount.
    Rate.objects.create(
        rate_card=card,
        kind="hourly",
        amount=Decimal("90.00"),
        floor=Decimal("57"),
        effective_from=date(2026, 3, 1),
    )
    march.refresh_from_db()
    assert march.amount == Decimal("150.00")


def test_activity_rate_wins_over_the_general_one(engagement, coordinator, coordinator2):
    Rate.objects.create(
        rate_card=engagement.rate_card,
        kind="hourly",
        activity="training",
        amount=Decimal("58.00"),
        floor=Decimal("57"),
        effective_from=date(2021, 1, 1),
    )
    c = log(engagement, coordinator, activity="training", submit=True)
    c = contribution_approve(contribution=c, by=coordinator2)
    assert c.amount == Decimal("116.00")


def test_honorarium_uses_flat_rate_and_reimbursement_its_amount(
    engagement, coordinator, coordinator2
):
    h = log(engagement, coordinator, kind="honorarium", activity="meeting", quantity=1, submit=True)
    r = log(
        engagement,
        coordinator,
        kind="reimbursement",
        activity="travel",
        claimed_amount=Decimal("23.40"),
        quantity=None,
        submit=True,
    )
    h = contribution_approve(contribution=h, by=coordinator2)
    r = contribution_approve(contribution=r, by=coordinator2)
    assert h.amount == Decimal("150.00")
    assert r.amount == Decimal("23.40") and r.rate is None and r.quantity == 1


def test_nobody_approves_what_they_logged(engagement, coordinator):
    c = log(engagement, coordinator, submit=True)
    with pytest.raises(NotAllowed) as exc:
        contribution_approve(contribution=c, by=coordinator)
    assert "someone else" in exc.value.message
    c.refresh_from_db()
    assert c.status == S.SUBMITTED and c.amount is None


def test_a_consultant_cannot_approve(engagement, coordinator, consultant_user):
    c = log(engagement, coordinator, submit=True)
    with pytest.raises(NotAllowed):
        contribution_approve(contribution=c, by=consultant_user)


def test_approving_a_draft_or_twice_is_a_conflict(engagement, coordinator, coordinator2):
    c = log(engagement, coordinator)
    with pytest.raises(StateConflict):
        contribution_approve(contribution=c, by=coordinator2)
    contribution_submit(contribution=c, by=coordinator)
    contribution_approve(contribution=c, by=coordinator2)
    # The same person clicking twice is harmless; anyone else gets a conflict.
    contribution_approve(contribution=c, by=coordinator2)
    third = UserFactory(roles=["coordinator"])
    with pytest.raises(StateConflict):
        contribution_approve(contribution=c, by=third)


def test_edit_after_submission_needs_a_reason_and_lands_in_history(engagement, coordinator):
    c = log(engagement, coordinator, submit=True)
    with pytest.raises(ValidationFailed) as exc:
        contribution_update(contribution=c, by=coordinator, quantity=Decimal("2.5"))
    assert exc.value.field == "reason"
    c.refresh_from_db()
    assert c.quantity == Decimal("2.00")

    contribution_update(
        contribution=c, by=coordinator, quantity=Decimal("2.5"), reason="included prep time"
    )
    latest, previous = c.history.order_by("-history_id")[:2]
    assert latest.history_user == coordinator
    assert latest.history_change_reason == "included prep time"
    assert latest.history_action == "contribution.edited"
    delta = latest.diff_against(previous)
    changes = {change.field: (change.old, change.new) for change in delta.changes}
    assert changes["quantity"] == (Decimal("2.00"), Decimal("2.50"))


def test_approved_entries_are_read_only_and_corrected_by_adjustment(
    engagement, coordinator, coordinator2
):
    c = log(engagement, coordinator, submit=True)
    c = contribution_approve(contribution=c, by=coordinator2)
    with pytest.raises(StateConflict):
        contribution_update(contribution=c, by=coordinator, quantity=3, reason="more")
    with pytest.raises(ValidationFailed):
        contribution_adjust(contribution=c, by=coordinator, quantity_delta="0.5", reason="")
    adj = contribution_adjust(
        contribution=c, by=coordinator, quantity_delta="0.5", reason="included prep time"
    )
    assert adj.adjusts == c and adj.status == S.SUBMITTED and adj.quantity == Decimal("0.5")
    adj = contribution_approve(contribution=adj, by=coordinator2)
    assert adj.amount == Decimal("30.00")  # at the original's frozen rate
    down = contribution_adjust(
        contribution=c, by=coordinator2, quantity_delta="-1", reason="double counted"
    )
    down = contribution_approve(contribution=down, by=coordinator)
    assert down.amount == Decimal("-60.00")
    with pytest.raises(ValidationFailed):
        contribution_adjust(contribution=c, by=coordinator, quantity_delta="-5", reason="too much")
    c.refresh_from_db()
    assert c.amount == Decimal("120.00") and c.quantity == Decimal("2.00")


def test_reject_needs_reason_and_edit_returns_to_draft(engagement, coordinator, coordinator2):
    c = log(engagement, coordinator, submit=True)
    with pytest.raises(ValidationFailed):
        contribution_reject(contribution=c, by=coordinator2, reason="  ")
    c = contribution_reject(contribution=c, by=coordinator2, reason="Split the prep time")
    assert c.status == S.REJECTED
    assert c.history.latest().history_change_reason == "Split the prep time"
    c = contribution_update(contribution=c, by=coordinator, quantity=Decimal("1.5"))
    assert c.status == S.DRAFT
    c = contribution_submit(contribution=c, by=coordinator)
    assert c.status == S.SUBMITTED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": Decimal("1.1")}, "quantity"),
        ({"quantity": Decimal("0")}, "quantity"),
        ({"quantity": Decimal("-1")}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"kind": "honorarium", "quantity": Decimal("1.5")}, "quantity"),
        ({"kind": "reimbursement", "claimed_amount": None}, "claimed_amount"),
        ({"kind": "reimbursement", "claimed_amount": "1.234"}, "claimed_amount"),
        ({"kind": "bonus"}, "kind"),
        ({"activity": "partying"}, "activity"),
        ({"date": date(2099, 1, 1)}, "date"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(engagement, coordinator, overrides, field):
    with pytest.raises(ValidationFailed) as exc:
        log(engagement, coordinator, **overrides)
    assert exc.value.field == field
    assert exc.value.message
    assert Contribution.objects.count() == 0


def test_hours_cap_is_enforced(engagement, coordinator):
    engagement.hours_cap = Decimal("3")
    engagement.save()
    log(engagement, coordinator, quantity=Decimal("2"))
    with pytest.raises(ValidationFailed) as exc:
        log(engagement, coordinator, quantity=Decimal("1.25"))
    assert exc.value.code == "hours_cap"
    log(engagement, coordinator, quantity=Decimal("1"))


def test_missing_rate_blocks_approval_with_a_clear_message(engagement, coordinator, coordinator2):
    c = log(engagement, coordinator, date=date(2019, 6, 1), submit=True)
    with pytest.raises(StateConflict) as exc:
        contribution_approve(contribution=c, by=coordinator2)
    assert "no hourly rate" in exc.value.message.lower()
    c.refresh_from_db()
    assert c.status == S.SUBMITTED


def test_rate_floor_is_enforced_by_service(engagement, admin_user):
    with pytest.raises(ValidationFailed) as exc:
        rate_add(
            rate_card=engagement.rate_card,
            by=admin_user,
            kind="hourly",
            amount="40.00",
            effective_from=date(2026, 1, 1),
        )
    assert exc.value.code == "below_floor"
    with pytest.raises(StateConflict):
        rate_add(
            rate_card=engagement.rate_card,
            by=admin_user,
            kind="hourly",
            amount="61.00",
            effective_from=date(2020, 1, 1),
        )
