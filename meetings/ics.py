"""One session as an iCalendar file (RFC 5545), written by hand.

CRLF line ends, lines folded at 75 octets (never inside a UTF-8 character),
TEXT values escaped (backslash, semicolon, comma, newline), times in UTC. The
UID comes from the session's public id, so the consultant's and the staff file
describe the same event. The SUMMARY is neutral ("Session", "Questionnaire
round"): a phone's calendar may be seen by others, so the title and description,
which may name the study's topic, are left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from meetings.models import Session


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Split ``line`` into chunks of at most 75 octets joined by CRLF + space."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def summary(session: Session) -> str:
    return _("Questionnaire round") if session.is_round else _("Session")


def session_ics(session: Session, *, now: datetime | None = None) -> bytes:
    now = now or timezone.now()
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Honora//Sessions//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{session.public_id}@honora",
        f"DTSTAMP:{_utc(now)}",
    ]
    if session.is_round:
        assert session.opens_on is not None and session.closes_on is not None
        lines += [
            f"DTSTART;VALUE=DATE:{_day(session.opens_on)}",
            # DTEND of an all-day event is the day after the last one.
            f"DTEND;VALUE=DATE:{_day(session.closes_on + timedelta(days=1))}",
        ]
    else:
        assert session.starts_at is not None and session.ends_at is not None
        lines += [f"DTSTART:{_utc(session.starts_at)}", f"DTEND:{_utc(session.ends_at)}"]
    lines.append(f"SUMMARY:{escape_text(summary(session))}")
    where = session.location or session.online_url
    if where:
        lines.append(f"LOCATION:{escape_text(where)}")
    lines.append(f"URL:{site}/me/sessions/")
    if session.status == Session.Status.CANCELLED:
        lines.append("STATUS:CANCELLED")
    else:
        lines.append("STATUS:CONFIRMED")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


def ics_filename(session: Session) -> str:
    return f"session-{session.public_id}.ics"
