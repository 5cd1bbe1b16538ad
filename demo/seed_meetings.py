"""The demo's sessions: an upcoming advisory meeting River is invited to, a past meeting
with attendance recorded (its entries wait for coordinator2's approval), and a Delphi
round open now with its questionnaire link. Public services only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from engagements.models import Engagement
from meetings.models import Session
from meetings.services import attendance_record, session_invite, session_schedule


def seed_meetings(*, coordinator, river) -> None:
    engagement = (
        Engagement.objects.filter(consultant=river, status=Engagement.Status.ACTIVE)
        .order_by("phase__position", "id")
        .first()
    )
    if engagement is None:
        return
    phase = engagement.phase
    people = list(
        Engagement.objects.filter(phase=phase, status=Engagement.Status.ACTIVE).order_by("id")
    )
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    today = timezone.localdate()

    upcoming_start = now + timedelta(days=6, hours=2)
    upcoming = session_schedule(
        phase=phase,
        by=coordinator,
        kind=Session.Kind.ADVISORY_MEETING,
        title="Advisory board: planning the next phase",
        description="We go through the plan for the coming months together.",
        starts_at=upcoming_start,
        ends_at=upcoming_start + timedelta(hours=2),
        location="Community room, 2nd floor",
        pay_kind=Session.PayKind.HONORARIUM,
        pay_quantity=Decimal("1"),
    )
    session_invite(session=upcoming, engagements=people, by=coordinator)

    past_start = now - timedelta(days=5)
    past = session_schedule(
        phase=phase,
        by=coordinator,
        kind=Session.Kind.INSTRUMENT_REVIEW,
        title="Instrument review: draft questions",
        starts_at=past_start,
        ends_at=past_start + timedelta(hours=2),
        online_url="https://meet.example.org/review",
        pay_kind=Session.PayKind.HOURS,
        pay_quantity=Decimal("2"),
    )
    invitations = session_invite(session=past, engagements=people, by=coordinator)
    # River attended; so did everyone else but the last person, who was absent.
    attended = invitations[:-1] if len(invitations) > 1 else invitations
    absent = [i for i in invitations if i not in attended]
    attendance_record(session=past, attended=attended, absent=absent, by=coordinator)

    round_ = session_schedule(
        phase=phase,
        by=coordinator,
        kind=Session.Kind.DELPHI_ROUND,
        title="Delphi round 1",
        opens_on=today - timedelta(days=2),
        closes_on=today + timedelta(days=5),
        instrument_url="https://survey.example.org/delphi/round-1",
        pay_kind=Session.PayKind.HONORARIUM,
        pay_quantity=Decimal("1"),
    )
    session_invite(session=round_, engagements=people, by=coordinator)
