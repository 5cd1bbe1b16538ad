"""Reminders (neutral, once, only by e-mail, in the consultant's language) and the ICS file."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from consultants.models import ContactMethod
from meetings.ics import escape_text, fold, session_ics
from meetings.models import Reminder
from meetings.reminders import send_due_reminders
from meetings.services import invitation_decline, session_cancel
from tests.meetings.support import delphi_round, invited, meeting

pytestmark = pytest.mark.django_db

TOPIC_WORDS = ("traffick", "survivor", "exploitation", "abuse", "advisory", "delphi", "study")


def _neutral(message):
    text = (message.subject + " " + message.body).lower()
    return not any(word in text for word in TOPIC_WORDS)


def test_meeting_reminder_is_sent_once_neutral_and_in_english(engagement, coordinator):
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(hours=20))
    invited(session, engagement, coordinator)
    counts = send_due_reminders()
    assert counts == {"sent": 1}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [engagement.consultant.email]
    assert message.subject == "A reminder"
    assert message.body.startswith("You have a session on ")
    assert _neutral(message)
    assert engagement.consultant.display_name not in message.subject
    assert session.title not in message.body and "Room 4" not in message.body
    # Idempotent: nothing more, however often it runs.
    assert send_due_reminders() == {}
    out = io.StringIO()
    call_command("meetings_remind", stdout=out)
    assert out.getvalue().startswith("0 reminder(s) sent")
    assert len(mail.outbox) == 1
    assert Reminder.objects.get().outcome == "sent"


def test_not_yet_due_is_not_sent(engagement, coordinator):
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(days=3))
    invited(session, engagement, coordinator)
    assert send_due_reminders() == {}
    assert send_due_reminders(now=session.starts_at - timedelta(hours=2)) == {"sent": 1}


def test_reminder_in_spanish_for_a_spanish_speaker(engagement, coordinator):
    engagement.consultant.preferred_language = "es"
    engagement.consultant.save()
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(hours=20))
    invited(session, engagement, coordinator)
    send_due_reminders()
    message = mail.outbox[0]
    # The strings are new (the lead translates them); until then gettext falls back to
    # English. What matters here: the message is built under the consultant's language,
    # so the date is written in Spanish.
    local = timezone.localtime(session.starts_at)
    from django.utils import translation
    from django.utils.formats import date_format

    with translation.override("es"):
        expected = date_format(local, "DATE_FORMAT")
    assert expected in message.body
    assert _neutral(message)


@pytest.mark.parametrize("channel", [ContactMethod.PHONE, ContactMethod.TEXT, ContactMethod.NONE])
def test_other_channels_are_recorded_not_sent(engagement, coordinator, channel):
    engagement.consultant.safe_contact_method = channel
    engagement.consultant.save()
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(hours=20))
    invited(session, engagement, coordinator)
    assert send_due_reminders() == {"channel_not_available": 1}
    assert mail.outbox == []
    row = Reminder.objects.get()
    assert row.channel == channel
    assert send_due_reminders() == {}


def test_declined_and_cancelled_get_no_reminder(engagement, outsider_engagement, coordinator):
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(hours=20))
    inv = invited(session, engagement, coordinator)
    invitation_decline(invitation=inv, by=engagement.consultant.user)
    cancelled = meeting(engagement.phase, coordinator, starts_in=timedelta(hours=10))
    invited(cancelled, outsider_engagement, coordinator)
    session_cancel(session=cancelled, by=coordinator, reason="Room unavailable")
    assert send_due_reminders() == {}
    assert mail.outbox == []


def test_round_reminders_on_opening_and_two_days_before_closing(engagement, coordinator):
    r = delphi_round(engagement.phase, coordinator, opens_in=0, days=6)
    invited(r, engagement, coordinator)
    assert send_due_reminders() == {"sent": 1}
    assert "questionnaire" in mail.outbox[0].body
    assert _neutral(mail.outbox[0])
    # Four days later it closes in two: the second reminder, once.
    later = timezone.now() + timedelta(days=4)
    assert send_due_reminders(now=later) == {"sent": 1}
    assert send_due_reminders(now=later + timedelta(days=1)) == {}
    kinds = set(Reminder.objects.values_list("kind", flat=True))
    assert kinds == {"round_open", "round_closing"}


def test_a_round_closing_soon_gets_one_reminder_not_two(engagement, coordinator):
    r = delphi_round(engagement.phase, coordinator, opens_in=-3, days=4)
    invited(r, engagement, coordinator)
    assert send_due_reminders() == {"sent": 1}
    assert Reminder.objects.get().kind == "round_closing"
    assert send_due_reminders() == {}


# --- ICS ---------------------------------------------------------------------------


def _unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "every line ends in CRLF"
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    return text.replace("\r\n ", "").split("\r\n")


def _props(lines):
    props = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            props.setdefault(name, value)
    return props


def test_meeting_ics_has_utc_times_uid_and_a_neutral_summary(engagement, coordinator):
    session = meeting(engagement.phase, coordinator, hours=3)
    lines = _unfold(session_ics(session, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    props = _props(lines)
    assert props["UID"] == f"{session.public_id}@honora"
    assert props["DTSTAMP"] == "20260102T030405Z"
    start = datetime.strptime(props["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    end = datetime.strptime(props["DTEND"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert start == session.starts_at and end == session.ends_at
    assert props["SUMMARY"] == "Session"
    assert props["LOCATION"] == "Room 4\\, Main St\\, Springfield"
    assert "DESCRIPTION" not in props and session.title not in "".join(lines)
    assert props["STATUS"] == "CONFIRMED"


def test_round_ics_is_all_day_through_the_closing_day(engagement, coordinator):
    r = delphi_round(engagement.phase, coordinator, opens_in=1, days=6)
    props = _props(_unfold(session_ics(r)))
    assert props["DTSTART;VALUE=DATE"] == r.opens_on.strftime("%Y%m%d")
    assert props["DTEND;VALUE=DATE"] == (r.closes_on + timedelta(days=1)).strftime("%Y%m%d")
    assert props["SUMMARY"] == "Questionnaire round"


def test_cancelled_ics_says_so(engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    session = session_cancel(session=session, by=coordinator, reason="Room unavailable")
    assert _props(_unfold(session_ics(session)))["STATUS"] == "CANCELLED"


def test_text_escaping_and_folding():
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    long = "LOCATION:" + "é" * 100
    folded = fold(long)
    parts = folded.split("\r\n ")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert "".join(parts) == long
    assert re.fullmatch(r"[0-9]{8}", date(2026, 3, 1).strftime("%Y%m%d"))


def test_the_payments_sweeper_sends_due_reminders_once(engagement, coordinator):
    """The sweeper is the installation's one periodic process: it carries the reminders."""
    session = meeting(engagement.phase, coordinator, starts_in=timedelta(hours=20))
    invited(session, engagement, coordinator)
    out = io.StringIO()
    call_command("payments_sweep", stdout=out)
    assert "1 reminder(s) sent." in out.getvalue()
    assert len(mail.outbox) == 1
    call_command("payments_sweep", stdout=io.StringIO())
    assert len(mail.outbox) == 1
