"""Sessions and rounds for the tests, scheduled through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from meetings.models import Session
from meetings.services import session_invite, session_schedule


def meeting(phase, by, *, starts_in=timedelta(days=3), hours=2, pay_kind="honorarium", qty="1"):
    starts = timezone.now().replace(microsecond=0) + starts_in
    return session_schedule(
        phase=phase,
        by=by,
        kind=Session.Kind.ADVISORY_MEETING,
        title="Spring advisory group",
        description="Review of the plan",
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        location="Room 4, Main St, Springfield",
        pay_kind=pay_kind,
        pay_quantity=Decimal(qty),
    )


def delphi_round(phase, by, *, opens_in=0, days=7, pay_kind="honorarium", qty="1"):
    today = timezone.localdate()
    return session_schedule(
        phase=phase,
        by=by,
        kind=Session.Kind.DELPHI_ROUND,
        title="Delphi round 1",
        opens_on=today + timedelta(days=opens_in),
        closes_on=today + timedelta(days=opens_in + days),
        instrument_url="https://survey.example.org/r/1",
        pay_kind=pay_kind,
        pay_quantity=Decimal(qty),
    )


def invited(session, engagement, by):
    return session_invite(session=session, engagements=[engagement], by=by)[0]


def past_meeting_invitation(engagement, by, **kwargs):
    """An invitation to a meeting that ended an hour ago."""
    kwargs.setdefault("starts_in", timedelta(hours=-3))
    s = meeting(engagement.phase, by, **kwargs)
    return s, invited(s, engagement, by)
