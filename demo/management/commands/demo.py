"""One command for the whole offline demo.

It starts the local Stripe-compatible server, migrates the database, loads the demo
study when the database is empty, connects the demo's direct-deposit consultants to
sandbox accounts, then serves Honora with a background worker and the payments
sweeper. Ctrl-C, or SIGTERM from ``kill`` or a process manager, stops everything it
started (see ``demo.processes``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from demo import data
from demo.accounts import refuse_unless_debug
from demo.management.commands.seed_demo import print_sign_ins
from demo.management.commands.stripe_sandbox import DEMO_FUNDS
from demo.processes import Children, Stopped, port_taken, wait_until_up

# Generous: on a busy machine starting Django in a fresh process can take a while.
START_TIMEOUT_SECONDS = 300
# A worker finishes the task in hand before it stops.
STOP_TIMEOUT_SECONDS = 60


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
        sandbox_port = sandbox.port or 12111
        if port_taken(addr, port):
            raise CommandError(
                f"Port {port} on {addr} is already in use: is another demo or server still "
                "running? Stop it, or choose another port with --port."
            )
        if port_taken(sandbox.hostname, sandbox_port):
            raise CommandError(
                f"The Stripe sandbox's port {sandbox_port} is already in use: is another demo "
                "or `manage.py stripe_sandbox` still running? Stop it, or set STRIPE_API_BASE "
                "to http://127.0.0.1:ANOTHER_PORT."
            )
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        # Links in e-mails and Stripe's onboarding return lead back to this server.
        os.environ.setdefault("SITE_URL", f"http://{addr}:{port}")
        var = Path(settings.VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        children = Children()
        unexpected: list[str] = []
        with children.catching_signals():
            try:
                with children.interruptible():
                    self._run(children, manage, addr, port, sandbox, sandbox_port, var)
                unexpected = children.exited()
            except Stopped:
                self.stdout.write("Stopping the demo...")
                self.stdout.flush()
            finally:
                children.stop(timeout=STOP_TIMEOUT_SECONDS)
        if unexpected:
            self.stderr.write(
                f"A demo process stopped unexpectedly ({', '.join(unexpected)}); "
                "see its output above."
            )

    def _run(self, children, manage, addr, port, sandbox, sandbox_port, var) -> None:
        sandbox_process = children.start(
            "stripe_sandbox",
            [
                sys.executable,
                manage,
                "stripe_sandbox",
                "--port",
                str(sandbox_port),
                "--webhook-url",
                f"http://{addr}:{port}/webhooks/stripe/",
                *[
                    arg
                    for secret in settings.STRIPE_WEBHOOK_SECRETS
                    for arg in ("--webhook-secret", secret)
                ],
                "--state-file",
                str(var / "stripe-sandbox.json"),
                "--platform-country",
                settings.STRIPE_PLATFORM_COUNTRY,
                # The platform is funded as a study's is, by bank top-ups (a new state
                # file starts with this; a kept one keeps its own balances).
                "--balance",
                str(DEMO_FUNDS),
                "--balance-source-type",
                "bank_account",
            ],
        )
        sandbox_url = f"{sandbox.scheme}://{sandbox.hostname}:{sandbox_port}"
        if not wait_until_up(
            f"{sandbox_url}/_sandbox/health",
            seconds=START_TIMEOUT_SECONDS,
            alive=lambda: sandbox_process.poll() is None,
        ):
            raise CommandError(f"The Stripe sandbox did not start on {sandbox_url}.")

        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if not User.objects.exists():
            result = data.seed_demo()
            self.stdout.write(self.style.SUCCESS("Loaded the demo study."))
        else:
            result = data.SeedResult(None, {}, {}, False)
            self.stdout.write("Using the existing database.")
        connected = data.connect_demo_stripe_accounts(sandbox_url)
        if connected:
            self.stdout.write(f"Connected {connected} consultants to sandbox Stripe accounts.")
        print_sign_ins(self.stdout, result, data.DEMO_PASSWORD, url=f"http://{addr}:{port}/")

        web = children.start(
            "runserver", [sys.executable, manage, "runserver", f"{addr}:{port}", "--noreload"]
        )
        children.start(
            "db_worker", [sys.executable, manage, "db_worker", "--interval", "0.5", "--no-reload"]
        )
        children.start(
            "payments_sweep", [sys.executable, manage, "payments_sweep", "--every", "30"]
        )
        if not wait_until_up(
            f"http://{addr}:{port}/accounts/login/",
            seconds=START_TIMEOUT_SECONDS,
            alive=lambda: web.poll() is None,
        ):
            raise CommandError(f"Honora's web server did not start on http://{addr}:{port}/.")
        self.stdout.write(
            f"Honora is at http://{addr}:{port}/ (Stripe sandbox at {sandbox_url}). "
            "Press Ctrl-C to stop."
        )
        self.stdout.flush()
        while not children.exited():
            time.sleep(0.5)
