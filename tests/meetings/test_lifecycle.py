"""Session -> invite -> attendance -> submitted contributions -> approval -> payout batch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.models import Activity, Contribution
from engagements.services.reviews import contribution_approve
from meetings import actions
from meetings.models import Invitation, Session
from meetings.services import (
    attendance_record,
    invitation_decline,
    session_cancel,
    session_invite,
    session_schedule,
)
from payments.models import PaymentItem
from payments.services.batches import batch_build
from tests.factories import EngagementFactory
from tests.meetings.support import delphi_round, invited, meeting, past_meeting_invitation

pytestmark = pytest.mark.django_db


def test_attendance_creates_submitted_contribution_priced_by_rate_card_and_paid_in_a_batch(
    engagement, outsider_engagement, coordinator, coordinator2, finance
):
    session, inv = past_meeting_invitation(engagement, coordinator, qty="2")
    other = invited_other = invited(session, outsider_engagement, coordinator)
    created = attendance_record(session=session, attended=[inv], absent=[other], by=coordinator)

    assert len(created) == 1
    c = created[0]
    inv.refresh_from_db()
    invited_other.refresh_from_db()
    assert inv.status == Invitation.Status.ATTENDED and inv.contribution == c
    assert inv.recorded_by == coordinator
    assert invited_other.status == Invitation.Status.ABSENT
    assert c.status == Contribution.Status.SUBMITTED and c.submitted_at is not None
    assert c.logged_by == coordinator
    assert c.kind == "honorarium" and c.quantity == Decimal("2.00")
    assert c.activity == Activity.MEETING
    assert c.date == timezone.localdate(session.starts_at)
    assert "Spring advisory group" in c.description
    # The session is named in the entry's history.
    rows = list(c.history.order_by("history_id"))
    assert rows[-1].history_action == actions.CONTRIBUTION_FROM_SESSION
    assert session.title in rows[-1].history_change_reason

    # The recorder cannot approve it (separation of duties); another coordinator does.
    with pytest.raises(NotAllowed):
        contribution_approve(contribution=c, by=coordinator)
    c = contribution_approve(contribution=c, by=coordinator2)
    assert c.rate == Decimal("150.00")  # the card's flat honorarium
    assert c.amount == Decimal("300.00")

    batch = batch_build(by=finance, cutoff_date=timezone.localdate())
    item = PaymentItem.objects.get(contribution=c)
    assert item.payment.batch == batch and item.amount == Decimal("300.00")


def test_hours_session_uses_the_hourly_rate(engagement, coordinator, coordinator2):
    session, inv = past_meeting_invitation(engagement, coordinator, pay_kind="hours", qty="1.5")
    (c,) = attendance_record(session=session, attended=[inv], by=coordinator)
    c = contribution_approve(contribution=c, by=coordinator2)
    assert c.kind == "hours" and c.rate == Decimal("60.00") and c.amount == Decimal("90.00")


def test_bulk_attendance_creates_one_entry_each(engagement, coordinator):
    others = [
        EngagementFactory(phase=engagement.phase, rate_card=engagement.rate_card) for _ in range(3)
    ]
    session, first = past_meeting_invitation(engagement, coordinator)
    invitations = [first] + [invited(session, e, coordinator) for e in others]
    created = attendance_record(session=session, attended=invitations, by=coordinator)
    assert len(created) == 4
    assert Contribution.objects.filter(status="submitted").count() == 4
    assert set(Invitation.objects.values_list("status", flat=True)) == {"attended"}


def test_recording_twice_is_a_conflict_and_makes_no_second_entry(engagement, coordinator):
    session, inv = past_meeting_invitation(engagement, coordinator)
    attendance_record(session=session, attended=[inv], by=coordinator)
    with pytest.raises(StateConflict) as exc:
        attendance_record(session=session, attended=[inv], by=coordinator)
    assert exc.value.status == 409
    assert Contribution.objects.count() == 1


def test_a_failing_row_records_nobody(engagement, outsider_engagement, coordinator):
    session, inv = past_meeting_invitation(engagement, coordinator)
    done = invited(session, outsider_engagement, coordinator)
    attendance_record(session=session, attended=[done], by=coordinator)
    with pytest.raises(StateConflict):
        attendance_record(session=session, attended=[inv, done], by=coordinator)
    inv.refresh_from_db()
    assert inv.status == "invited" and Contribution.objects.count() == 1


def test_before_the_start_is_a_conflict(engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    inv = invited(session, engagement, coordinator)
    with pytest.raises(StateConflict):
        attendance_record(session=session, attended=[inv], by=coordinator)
    assert not Contribution.objects.exists()


def test_declined_needs_a_new_invitation_before_attendance(engagement, coordinator):
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(minutes=-30))
    inv = invited(session, engagement, coordinator)
    invitation_decline(invitation=inv, by=engagement.consultant.user)
    with pytest.raises(StateConflict) as exc:
        attendance_record(session=session, attended=[inv], by=coordinator)
    assert exc.value.code == "declined"
    (again,) = session_invite(session=session, engagements=[engagement], by=coordinator)
    assert again.pk == inv.pk and again.status == "invited"
    (c,) = attendance_record(session=session, attended=[again], by=coordinator)
    assert c.status == "submitted"


def test_an_invitation_of_another_session_is_refused(engagement, coordinator):
    session, _inv = past_meeting_invitation(engagement, coordinator)
    _other_session, other_inv = past_meeting_invitation(engagement, coordinator)
    with pytest.raises(ValidationFailed):
        attendance_record(session=session, attended=[other_inv], by=coordinator)


def test_an_absence_can_be_corrected_to_attended(engagement, coordinator):
    session, inv = past_meeting_invitation(engagement, coordinator)
    attendance_record(session=session, attended=[], absent=[inv], by=coordinator)
    inv.refresh_from_db()
    assert inv.status == "absent"
    (c,) = attendance_record(session=session, attended=[inv], by=coordinator)
    inv.refresh_from_db()
    assert inv.status == "attended" and inv.contribution == c


def test_a_completed_round_is_dated_its_closing_day_or_today(engagement, coordinator):
    today = timezone.localdate()
    r = delphi_round(engagement.phase, coordinator, opens_in=-3, days=5)
    inv = invited(r, engagement, coordinator)
    (c,) = attendance_record(session=r, attended=[inv], by=coordinator)
    inv.refresh_from_db()
    assert inv.status == "completed"
    assert c.date == today  # still open: never dated in the future
    assert c.activity == Activity.WORK


def test_a_round_not_open_yet_cannot_be_recorded(engagement, coordinator):
    r = delphi_round(engagement.phase, coordinator, opens_in=2)
    inv = invited(r, engagement, coordinator)
    with pytest.raises(StateConflict):
        attendance_record(session=r, attended=[inv], by=coordinator)


# --- decline -------------------------------------------------------------------------


def test_decline_lifecycle(engagement, outsider, coordinator):
    session = meeting(engagement.phase, coordinator)
    inv = invited(session, engagement, coordinator)
    with pytest.raises(NotAllowed):
        invitation_decline(invitation=inv, by=outsider.user)
    with pytest.raises(NotAllowed):
        invitation_decline(invitation=inv, by=coordinator)
    inv = invitation_decline(invitation=inv, by=engagement.consultant.user)
    assert inv.status == "declined" and inv.decided_at is not None
    # Twice is harmless.
    assert invitation_decline(invitation=inv, by=engagement.consultant.user).status == "declined"
    last = inv.history.latest("history_id")
    assert last.history_action == actions.INVITATION_DECLINED
    assert last.history_change_reason in ("", None)  # no reason asked


def test_decline_after_the_session_is_a_conflict(engagement, coordinator):
    _session, inv = past_meeting_invitation(engagement, coordinator)
    with pytest.raises(StateConflict):
        invitation_decline(invitation=inv, by=engagement.consultant.user)


def test_decline_of_a_cancelled_session_is_a_conflict(engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    inv = invited(session, engagement, coordinator)
    session_cancel(session=session, by=coordinator, reason="Room unavailable")
    with pytest.raises(StateConflict):
        invitation_decline(invitation=inv, by=engagement.consultant.user)


# --- scheduling and inviting -------------------------------------------------------


def test_someone_who_came_uninvited_is_invited_afterwards(
    engagement, outsider_engagement, coordinator
):
    session, _inv = past_meeting_invitation(engagement, coordinator)
    (late,) = session_invite(session=session, engagements=[outsider_engagement], by=coordinator)
    (c,) = attendance_record(session=session, attended=[late], by=coordinator)
    assert c.engagement == outsider_engagement


def test_invite_only_active_engagements_of_the_phase(engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    elsewhere = EngagementFactory()
    with pytest.raises(ValidationFailed):
        session_invite(session=session, engagements=[elsewhere], by=coordinator)
    ended = EngagementFactory(phase=engagement.phase, status="ended")
    with pytest.raises(ValidationFailed):
        session_invite(session=session, engagements=[ended], by=coordinator)
    first = session_invite(session=session, engagements=[engagement], by=coordinator)
    again = session_invite(session=session, engagements=[engagement], by=coordinator)
    assert first[0].pk == again[0].pk and Invitation.objects.count() == 1


def test_only_coordinators_schedule(engagement, finance):
    with pytest.raises(NotAllowed):
        meeting(engagement.phase, finance)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"ends_at_hours": -1}, "ends_at"),
        ({"ends_at_hours": 13}, "ends_at"),
        ({"pay_kind": "hours", "pay_quantity": "1.3"}, "pay_quantity"),
        ({"pay_kind": "hours", "pay_quantity": "12.25"}, "pay_quantity"),
        ({"pay_kind": "honorarium", "pay_quantity": "1.5"}, "pay_quantity"),
        ({"pay_kind": "honorarium", "pay_quantity": "11"}, "pay_quantity"),
        ({"pay_kind": "honorarium", "pay_quantity": "1e30"}, "pay_quantity"),
        ({"pay_kind": "gift", "pay_quantity": "1"}, "pay_kind"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"online_url": "http://meet.example.org/x"}, "online_url"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"instrument_url": "https://survey.example.org"}, "instrument_url"),
    ],
)
def test_schedule_refuses_bad_input(engagement, coordinator, changes, field):
    starts = timezone.now() + timedelta(days=1)
    hours = changes.pop("ends_at_hours", 2)
    values = {
        "kind": Session.Kind.ADVISORY_MEETING,
        "title": "Meeting",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=hours),
        "pay_kind": "honorarium",
        "pay_quantity": "1",
        **changes,
    }
    with pytest.raises(ValidationFailed) as exc:
        session_schedule(phase=engagement.phase, by=coordinator, **values)
    assert exc.value.field == field
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"instrument_url": ""}, "instrument_url"),
        ({"instrument_url": "http://survey.example.org"}, "instrument_url"),
        ({"instrument_url": "https://x.example.org/" + "a" * 500}, "instrument_url"),
        ({"closes_in": -1}, "closes_on"),
        ({"closes_in": 400}, "closes_on"),
    ],
)
def test_round_refuses_bad_input(engagement, coordinator, changes, field):
    today = timezone.localdate()
    closes_in = changes.pop("closes_in", 7)
    values = {
        "kind": Session.Kind.DELPHI_ROUND,
        "title": "Round",
        "opens_on": today,
        "closes_on": today + timedelta(days=closes_in),
        "instrument_url": "https://survey.example.org/r",
        "pay_kind": "honorarium",
        "pay_quantity": "1",
        **changes,
    }
    with pytest.raises(ValidationFailed) as exc:
        session_schedule(phase=engagement.phase, by=coordinator, **values)
    assert exc.value.field == field


def test_cancel_needs_a_reason_and_not_after_attendance(engagement, coordinator):
    session, inv = past_meeting_invitation(engagement, coordinator)
    with pytest.raises(ValidationFailed):
        session_cancel(session=session, by=coordinator, reason=" ")
    attendance_record(session=session, attended=[inv], by=coordinator)
    with pytest.raises(StateConflict):
        session_cancel(session=session, by=coordinator, reason="Oops")
    fresh = meeting(engagement.phase, coordinator)
    fresh = session_cancel(session=fresh, by=coordinator, reason="Room unavailable")
    assert fresh.status == "cancelled"
    with pytest.raises(StateConflict):
        session_cancel(session=fresh, by=coordinator, reason="Again")
    with pytest.raises(StateConflict):
        attendance_record(session=fresh, attended=[inv], by=coordinator)
