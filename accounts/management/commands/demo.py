"""One command for the whole offline demo.

It starts the local Stripe-compatible server, migrates the database, loads the demo
study when the database is empty, connects the demo's direct-deposit consultants to
sandbox accounts, then serves Honora with a background worker and the payments
sweeper. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import refuse_unless_debug
from accounts.models import User
from engagements import demo_data
from engagements.management.commands.seed_demo import print_sign_ins


def _wait_until_up(url: str, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own local server
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = "The whole demo, offline: Stripe sandbox, database, demo data, web server, worker (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, addr, port, **options):
        refuse_unless_debug("demo")
        sandbox = urlsplit(settings.STRIPE_API_BASE)
        if sandbox.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError(
                "The demo runs against the local Stripe sandbox; unset STRIPE_API_BASE."
            )
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        # Links in e-mails and Stripe's onboarding return lead back to this server.
        os.environ.setdefault("SITE_URL", f"http://{addr}:{port}")
        var = Path(settings.VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        children: list[subprocess.Popen] = []
        try:
            children.append(
                subprocess.Popen(  # noqa: S603 - our own commands
                    [
                        sys.executable,
                        manage,
                        "stripe_sandbox",
                        "--port",
                        str(sandbox.port or 12111),
                        "--webhook-url",
                        f"http://{addr}:{port}/webhooks/stripe/",
                        *[
                            arg
                            for secret in settings.STRIPE_WEBHOOK_SECRETS
                            for arg in ("--webhook-secret", secret)
                        ],
                        "--state-file",
                        str(var / "stripe-sandbox.json"),
                    ]
                )
            )
            sandbox_url = f"{sandbox.scheme}://{sandbox.hostname}:{sandbox.port or 12111}"
            if not _wait_until_up(f"{sandbox_url}/_sandbox/health"):
                raise CommandError(f"The Stripe sandbox did not start on {sandbox_url}.")

            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            if not User.objects.exists():
                result = demo_data.seed_demo()
                self.stdout.write(self.style.SUCCESS("Loaded the demo study."))
            else:
                result = demo_data.SeedResult(None, {}, {}, False)
                self.stdout.write("Using the existing database.")
            connected = demo_data.connect_demo_stripe_accounts(sandbox_url)
            if connected:
                self.stdout.write(f"Connected {connected} consultants to sandbox Stripe accounts.")
            print_sign_ins(
                self.stdout, result, demo_data.DEMO_PASSWORD, url=f"http://{addr}:{port}/"
            )

            for command in (
                ["runserver", f"{addr}:{port}", "--noreload"],
                ["db_worker", "--interval", "0.5", "--no-reload"],
                ["payments_sweep", "--every", "30"],
            ):
                children.append(subprocess.Popen([sys.executable, manage, *command]))  # noqa: S603
            self.stdout.write(
                f"Honora is at http://{addr}:{port}/ (Stripe sandbox at {sandbox_url}). "
                "Press Ctrl-C to stop."
            )
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGINT, None)]
        if failed:
            self.stderr.write("A demo process stopped unexpectedly; see its output above.")
