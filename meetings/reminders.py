"""Neutral reminders before a meeting and while a Delphi round is open.

Sent only through the channel each consultant chose as safe
(``Consultant.safe_contact_method``): e-mail is the only channel Honora sends on
today, so a consultant who chose another one gets a row saying it was not sent.
Each reminder is recorded once (``Reminder``, unique per invitation and kind):
running ``manage.py meetings_remind`` again never sends it twice. Subjects and
bodies say nothing about the study or its topic, and are in the consultant's
language, like ``payments.documents.notifications``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consultants.models import ContactMethod
from meetings.models import Invitation, Reminder, Session

log = logging.getLogger("meetings.reminders")

SUBJECT = gettext_noop("A reminder")
MEETING_BODY = gettext_noop("You have a session on %(date)s at %(time)s. Sign in to see it:")
ROUND_OPEN_BODY = gettext_noop(
    "You have a questionnaire to fill in by %(date)s. Sign in to see it:"
)
ROUND_CLOSING_BODY = gettext_noop(
    "A reminder: your questionnaire closes on %(date)s. Sign in to see it:"
)


@dataclass
class Due:
    invitation: Invitation
    kind: str


def _sign_in_url() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/") + "/accounts/login/"


def due_reminders(now: datetime | None = None) -> list[Due]:
    """Reminders that are due now and not recorded yet."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    waiting = Invitation.objects.filter(
        status=Invitation.Status.INVITED, session__status=Session.Status.SCHEDULED
    ).select_related("session", "engagement__consultant")
    due: list[Due] = []
    meetings = waiting.filter(
        session__starts_at__gt=now, session__starts_at__lte=now + timedelta(days=1)
    ).exclude(reminders__kind=Reminder.Kind.DAY_BEFORE)
    due += [Due(i, Reminder.Kind.DAY_BEFORE) for i in meetings]
    rounds = waiting.filter(session__opens_on__lte=today, session__closes_on__gte=today)
    closing = rounds.filter(session__closes_on__lte=today + timedelta(days=2))
    # One e-mail at a time: a round that closes within two days gets only the closing one.
    due += [
        Due(i, Reminder.Kind.ROUND_OPEN)
        for i in rounds.exclude(pk__in=closing.values("pk")).exclude(
            reminders__kind=Reminder.Kind.ROUND_OPEN
        )
    ]
    due += [
        Due(i, Reminder.Kind.ROUND_CLOSING)
        for i in closing.exclude(reminders__kind=Reminder.Kind.ROUND_CLOSING)
    ]
    return due


def _message(invitation: Invitation, kind: str) -> tuple[str, str]:
    """Subject and body in the active language (the caller chose the consultant's)."""
    session = invitation.session
    if kind == Reminder.Kind.DAY_BEFORE:
        assert session.starts_at is not None
        local = timezone.localtime(session.starts_at)
        body = _(MEETING_BODY) % {
            "date": date_format(local, "DATE_FORMAT"),
            "time": date_format(local, "TIME_FORMAT"),
        }
    else:
        assert session.closes_on is not None
        text = ROUND_OPEN_BODY if kind == Reminder.Kind.ROUND_OPEN else ROUND_CLOSING_BODY
        body = _(text) % {"date": date_format(session.closes_on, "DATE_FORMAT")}
    return _(SUBJECT), body + "\n\n" + _sign_in_url() + "\n"


def send_reminder(due: Due) -> str | None:
    """Record and (on e-mail) send one reminder; None when another run recorded it first."""
    consultant = due.invitation.engagement.consultant
    channel = consultant.safe_contact_method
    if channel != ContactMethod.EMAIL:
        outcome = Reminder.Outcome.CHANNEL_NOT_AVAILABLE
    elif not consultant.email:
        outcome = Reminder.Outcome.NO_CONTACT
    else:
        outcome = Reminder.Outcome.SENT
    try:
        with transaction.atomic():
            Reminder.objects.create(
                invitation=due.invitation, kind=due.kind, channel=channel, outcome=outcome
            )
            if outcome == Reminder.Outcome.SENT:
                language = consultant.preferred_language
                if language not in dict(settings.LANGUAGES):
                    language = settings.LANGUAGE_CODE
                with translation.override(language):
                    subject, body = _message(due.invitation, due.kind)
                # A failure to send rolls the row back: the next run tries again.
                send_mail(
                    subject=subject,
                    message=body,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[consultant.email],
                )
    except IntegrityError:
        return None  # recorded by a run at the same time
    return outcome


def send_due_reminders(now: datetime | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for due in due_reminders(now):
        outcome = send_reminder(due)
        if outcome is None:
            continue
        counts[outcome] = counts.get(outcome, 0) + 1
        log.info("reminder %s for invitation %s: %s", due.kind, due.invitation.pk, outcome)
    return counts
