"""Scheduling sessions and Delphi rounds, inviting, declining and recording attendance.

Each write locks its rows, checks their state, changes them and stamps history
with a named action (``meetings.actions``). Attendance creates the contribution
through the engagements services: the entry is priced by the engagement's rate
card when it is approved, like any other, and arrives already submitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import ADMIN, COORDINATOR
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from engagements.models import Activity, Contribution, Engagement, Phase
from engagements.services.checks import checked_decimal
from engagements.services.contributions import contribution_create
from meetings import actions
from meetings.models import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    MAX_PAY_HONORARIA,
    MAX_PAY_HOURS,
    MAX_SESSION_HOURS,
    TITLE_MAX,
    URL_MAX,
    Invitation,
    Session,
)

if TYPE_CHECKING:
    from accounts.models import User

Kind = Session.Kind
IS = Invitation.Status


def may_coordinate(user: User) -> bool:
    return user.is_superuser or user.has_role(COORDINATOR, ADMIN)


def _require_coordinator(user: User) -> None:
    if not may_coordinate(user):
        raise NotAllowed(_("Only coordinators schedule sessions and record attendance."))


def _https_url(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > URL_MAX:
        raise ValidationFailed(_("That link is too long."), field=field)
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
        raise ValidationFailed(_("Enter a link that starts with https://."), field=field)
    return value


def _text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("This is required."), field=field)
    if len(value) > limit:
        raise ValidationFailed(
            _("Keep this to %(limit)s characters.") % {"limit": limit}, field=field
        )
    return value


def clean_pay(pay_kind: str, pay_quantity: object) -> Decimal:
    if pay_kind not in Session.PayKind.values:
        raise ValidationFailed(_("Choose hours or honorarium."), field="pay_kind")
    if pay_quantity in (None, ""):
        raise ValidationFailed(_("Enter how much is paid."), field="pay_quantity")
    quantity = checked_decimal(pay_quantity, "pay_quantity")
    if pay_kind == Session.PayKind.HOURS:
        if quantity <= 0 or quantity > MAX_PAY_HOURS or (quantity * 4) % 1 != 0:
            raise ValidationFailed(
                _("Hours are paid in quarter hours, from 0.25 to 12."), field="pay_quantity"
            )
    elif quantity <= 0 or quantity > MAX_PAY_HONORARIA or quantity % 1 != 0:
        raise ValidationFailed(
            _("Honoraria are a whole count, from 1 to 10."), field="pay_quantity"
        )
    return quantity.quantize(Decimal("0.01"))


@transaction.atomic
def session_schedule(
    *,
    phase: Phase,
    by: User,
    kind: str,
    title: str,
    pay_kind: str,
    pay_quantity: object,
    description: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    opens_on: date | None = None,
    closes_on: date | None = None,
    instrument_url: str = "",
    location: str = "",
    online_url: str = "",
) -> Session:
    _require_coordinator(by)
    if kind not in Kind.values:
        raise ValidationFailed(_("Choose the kind of session."), field="kind")
    session = Session(
        phase=phase,
        kind=kind,
        title=_text(title, "title", TITLE_MAX, required=True),
        description=_text(description, "description", DESCRIPTION_MAX),
        location=_text(location, "location", LOCATION_MAX),
        online_url=_https_url(online_url, "online_url"),
        pay_kind=pay_kind,
        pay_quantity=clean_pay(pay_kind, pay_quantity),
        created_by=by,
    )
    if kind == Kind.DELPHI_ROUND:
        if not isinstance(opens_on, date) or isinstance(opens_on, datetime):
            raise ValidationFailed(_("Enter the day the round opens."), field="opens_on")
        if not isinstance(closes_on, date) or isinstance(closes_on, datetime):
            raise ValidationFailed(_("Enter the day the round closes."), field="closes_on")
        if closes_on < opens_on:
            raise ValidationFailed(_("The round cannot close before it opens."), field="closes_on")
        if closes_on - opens_on > timedelta(days=366):
            raise ValidationFailed(_("A round lasts at most a year."), field="closes_on")
        url = _https_url(instrument_url, "instrument_url")
        if not url:
            raise ValidationFailed(
                _("Enter the link to the questionnaire."), field="instrument_url"
            )
        session.opens_on, session.closes_on, session.instrument_url = opens_on, closes_on, url
    else:
        if instrument_url:
            raise ValidationFailed(
                _("Only a Delphi round has a questionnaire link."), field="instrument_url"
            )
        for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
            if not isinstance(value, datetime) or timezone.is_naive(value):
                raise ValidationFailed(_("Enter a date and time."), field=name)
        assert starts_at is not None and ends_at is not None
        if ends_at <= starts_at:
            raise ValidationFailed(_("The session must end after it starts."), field="ends_at")
        if ends_at - starts_at > timedelta(hours=MAX_SESSION_HOURS):
            raise ValidationFailed(
                _("A session lasts at most %(hours)s hours.") % {"hours": MAX_SESSION_HOURS},
                field="ends_at",
            )
        session.starts_at, session.ends_at = starts_at, ends_at
    stamp(session, by=by, action=actions.SESSION_SCHEDULED)
    session.save()
    return session


def _lock_session(session: Session) -> Session:
    return Session.objects.select_for_update().select_related("phase").get(pk=session.pk)


@transaction.atomic
def session_cancel(*, session: Session, by: User, reason: str) -> Session:
    _require_coordinator(by)
    reason = _text(reason, "reason", 1000)
    if not reason:
        raise ValidationFailed(_("Say why the session is cancelled."), field="reason")
    s = _lock_session(session)
    if s.status == Session.Status.CANCELLED:
        raise StateConflict(_("This session is already cancelled."))
    if s.invitations.filter(status__in=Invitation.DONE_STATUSES).exists():
        raise StateConflict(
            _("Attendance is already recorded for this session; it cannot be cancelled.")
        )
    s.status = Session.Status.CANCELLED
    s.cancel_reason = reason
    stamp(s, by=by, action=actions.SESSION_CANCELLED, reason=reason)
    s.save()
    return s


def has_started(session: Session, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if session.is_round:
        assert session.opens_on is not None
        return timezone.localdate(now) >= session.opens_on
    assert session.starts_at is not None
    return now >= session.starts_at


def has_closed(session: Session, *, now: datetime | None = None) -> bool:
    """A meeting once it has ended; a round after its last day."""
    now = now or timezone.now()
    if session.is_round:
        assert session.closes_on is not None
        return timezone.localdate(now) > session.closes_on
    assert session.ends_at is not None
    return now >= session.ends_at


@transaction.atomic
def session_invite(
    *, session: Session, engagements: Iterable[Engagement], by: User
) -> list[Invitation]:
    """Invite consultants by their active engagement in the session's phase.

    Inviting someone already invited changes nothing; someone who declined is
    invited again (their invitation returns to "invited").
    """
    _require_coordinator(by)
    s = _lock_session(session)
    if s.status == Session.Status.CANCELLED:
        raise StateConflict(_("This session is cancelled."))
    # A session already over may still be given an invitation: someone who came
    # without one is invited afterwards so their attendance can be recorded.
    wanted = list(Engagement.objects.select_for_update().filter(pk__in=[e.pk for e in engagements]))
    if not wanted:
        raise ValidationFailed(_("Choose at least one person to invite."), field="engagements")
    for engagement in wanted:
        if engagement.phase_id != s.phase_id:
            raise ValidationFailed(
                _("Only people engaged in this session's phase can be invited."),
                field="engagements",
            )
        if engagement.status != Engagement.Status.ACTIVE:
            raise ValidationFailed(_("An ended engagement cannot be invited."), field="engagements")
    existing = {
        i.engagement_id: i
        for i in Invitation.objects.select_for_update().filter(session=s, engagement__in=wanted)
    }
    result = []
    for engagement in wanted:
        invitation = existing.get(engagement.pk)
        if invitation is None:
            invitation = Invitation(session=s, engagement=engagement, invited_by=by)
            stamp(invitation, by=by, action=actions.INVITATION_SENT)
            invitation.save()
        elif invitation.status == IS.DECLINED:
            invitation.status = IS.INVITED
            invitation.decided_at = None
            invitation.invited_by = by
            stamp(invitation, by=by, action=actions.INVITATION_RENEWED)
            invitation.save()
        result.append(invitation)
    return result


@transaction.atomic
def invitation_decline(*, invitation: Invitation, by: User) -> Invitation:
    """The consultant declines their own invitation; no reason is asked."""
    inv = (
        Invitation.objects.select_for_update()
        .select_related("engagement", "session")
        .get(pk=invitation.pk)
    )
    consultant = getattr(by, "consultant", None)
    if consultant is None or consultant.pk != inv.engagement.consultant_id:
        raise NotAllowed(_("Only the person invited can decline."))
    if inv.status == IS.DECLINED:
        return inv  # a repeated click: already done
    if inv.session.status == Session.Status.CANCELLED:
        raise StateConflict(_("This session was cancelled; there is nothing to decline."))
    if inv.status != IS.INVITED:
        raise StateConflict(_("Attendance is already recorded for this session."))
    if has_closed(inv.session):
        raise StateConflict(_("This session is over; it can no longer be declined."))
    inv.status = IS.DECLINED
    inv.decided_at = timezone.now()
    stamp(inv, by=by, action=actions.INVITATION_DECLINED)
    inv.save()
    return inv


def work_date(session: Session, *, today: date | None = None) -> date:
    """The date of the work: a meeting's own day; a round's closing day, or today
    when completion is recorded while the round is still open (work is never
    dated in the future)."""
    today = today or timezone.localdate()
    if session.is_round:
        assert session.closes_on is not None
        return min(session.closes_on, today)
    assert session.starts_at is not None
    return timezone.localdate(session.starts_at)


def session_label(session: Session) -> str:
    when = work_date(session) if session.is_round else timezone.localdate(session.starts_at)
    return f"{session.get_kind_display()}: {session.title} ({when.isoformat()})"


@transaction.atomic
def attendance_record(
    *,
    session: Session,
    attended: Iterable[Invitation],
    by: User,
    absent: Iterable[Invitation] = (),
) -> list[Contribution]:
    """Record who attended a meeting (or completed a round), all at once.

    Each attended invitation creates one contribution, already submitted and
    logged by ``by`` (so another coordinator approves it), with the session named
    in its description and its history. ``absent`` invitations still waiting are
    marked absent; an absence can later be corrected to attended. A declined
    invitation must be invited again first; recording twice is a conflict.
    """
    _require_coordinator(by)
    s = _lock_session(session)
    if s.status == Session.Status.CANCELLED:
        raise StateConflict(_("This session was cancelled."))
    if not has_started(s):
        raise StateConflict(_("Attendance is recorded once the session has started."))
    attended_ids = [i.pk for i in attended]
    absent_ids = [i.pk for i in absent]
    if not attended_ids and not absent_ids:
        raise ValidationFailed(_("Choose who attended."), field="attended")
    if set(attended_ids) & set(absent_ids):
        raise ValidationFailed(_("Someone cannot both attend and be absent."), field="attended")
    rows = {
        i.pk: i
        for i in Invitation.objects.select_for_update()
        .select_related("engagement")
        .filter(pk__in=attended_ids + absent_ids)
    }
    if len(rows) != len(set(attended_ids + absent_ids)) or any(
        i.session_id != s.pk for i in rows.values()
    ):
        raise ValidationFailed(
            _("Someone chosen was not invited to this session."), field="attended"
        )
    done_status = IS.COMPLETED if s.is_round else IS.ATTENDED
    done_action = actions.INVITATION_COMPLETED if s.is_round else actions.INVITATION_ATTENDED
    label = session_label(s)
    activity = Activity.WORK if s.is_round else Activity.MEETING
    when = work_date(s)
    now = timezone.now()
    created: list[Contribution] = []
    for pk in attended_ids:
        inv = rows[pk]
        if inv.status in Invitation.DONE_STATUSES:
            raise StateConflict(
                _("Attendance for %(name)s is already recorded.")
                % {"name": inv.engagement.consultant.display_name},
                code="already_recorded",
            )
        if inv.status == IS.DECLINED:
            raise StateConflict(
                _("%(name)s declined this session; invite them again before recording it.")
                % {"name": inv.engagement.consultant.display_name},
                code="declined",
            )
        contribution = contribution_create(
            engagement=inv.engagement,
            by=by,
            kind=s.pay_kind,
            activity=activity,
            date=when,
            quantity=s.pay_quantity,
            description=label,
            submit=True,
        )
        # A second history row on the entry names the session it came from.
        stamp(contribution, by=by, action=actions.CONTRIBUTION_FROM_SESSION, reason=label)
        contribution.save()
        inv.status = done_status
        inv.decided_at = now
        inv.recorded_by = by
        inv.contribution = contribution
        stamp(inv, by=by, action=done_action, reason=label)
        inv.save()
        created.append(contribution)
    for pk in absent_ids:
        inv = rows[pk]
        if inv.status != IS.INVITED:
            continue  # declined, already absent or already recorded: left as it is
        inv.status = IS.ABSENT
        inv.decided_at = now
        inv.recorded_by = by
        stamp(inv, by=by, action=actions.INVITATION_ABSENT)
        inv.save()
    return created
