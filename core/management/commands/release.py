"""The release step of a deploy: run once per new version, before its processes start.

It checks the configuration as for production (``check --deploy``: an error stops the
release before anything changes; warnings are shown), applies migrations, and creates
the database cache table (used for rate limits and used two-step codes when
``REDIS_URL`` is not set; creating it again is harmless). Static files are not its
business: ``collectstatic`` runs when the release is built (see README, "Processes").
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Release a new version: check --deploy, migrate --noinput, createcachetable."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        self.stdout.write("Checking the configuration (check --deploy)...")
        call_command("check", deploy=True, verbosity=verbosity)
        self.stdout.write("Applying migrations...")
        call_command("migrate", interactive=False, verbosity=verbosity)
        self.stdout.write("Creating the cache table if missing...")
        call_command("createcachetable", verbosity=verbosity)
        self.stdout.write(self.style.SUCCESS("Release done."))
