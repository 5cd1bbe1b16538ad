"""Send the session and Delphi round reminders that are due (run hourly, e.g. cron).

Idempotent: each reminder is recorded once, so running it again sends nothing twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from meetings.reminders import send_due_reminders


class Command(BaseCommand):
    help = "Send due session and Delphi round reminders (each one once)."

    def handle(self, *args, **options):
        counts = send_due_reminders()
        sent = counts.get("sent", 0)
        other = sum(counts.values()) - sent
        self.stdout.write(f"{sent} reminder(s) sent, {other} recorded as not sent.")
