"""Tell the people who can fix it about promised pay dates that are about to slip (once)."""

from django.core.management.base import BaseCommand

from promises.services import promises_check


class Command(BaseCommand):
    help = "Send the slip notices that are due: each (consultant, reason, promised date) once."

    def handle(self, *args, **options):
        counts = promises_check()
        self.stdout.write(f"{sum(counts.values())} slip notice(s) sent.")
