"""Pick up Stripe payments that no worker is moving (run every minute or so, e.g. cron).

A worker killed mid-call leaves its attempt claimed; once the claim expires the
payment's task is enqueued again, and it calls Stripe with the same key. Reversals
of returned payments that are not confirmed yet are tried again too, and so are the
receipts of paid payments that have none rendered (a worker died before issuing it).

``--every N`` keeps sweeping every N seconds, beside the workers under a supervisor
(the Procfile's ``sweep``). Then SIGTERM or Ctrl-C stops it between sweeps with exit
status 0: a sweep under way is finished first, a wait between sweeps ends at once.
A sweep that fails on the database (restarting, unreachable, locked) is logged and
tried again at the next turn, on a fresh connection, instead of ending the process.
Each turn also sends the session and Delphi round reminders that are due
(``meetings.reminders``; each is sent once): the sweeper is the one periodic process.
It also deletes the import files kept past the hour they can be imported in
(``engagements.import_once.forget_stale_files``).
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from engagements.import_once import forget_stale_files
from meetings.reminders import send_due_reminders
from payments.stripe.engine import sweep
from promises.services import promises_check

log = logging.getLogger("payments.sweep")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Stop(Exception):
    """A stop signal arrived between sweeps."""


class Command(BaseCommand):
    help = (
        "Enqueue the payment task again for stuck Stripe payments, reversals and receipts; "
        "close finished batches."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-seconds",
            type=float,
            default=None,
            help="how long a payment may show no progress (default: PAYMENTS_SWEEP_AFTER_SECONDS)",
        )
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            help="sweep again every this many seconds, until SIGTERM or Ctrl-C",
        )

    def handle(self, *args, stale_seconds=None, every=None, **options):
        if every is None:
            self._report(sweep(stale_after=stale_seconds), quiet_when_idle=False)
            self._send_reminders()
            self._check_promises()
            self._forget_import_files()
            return
        if not every > 0:
            raise CommandError("--every must be a number of seconds above 0")
        self._stop = False
        self._waiting = False
        # Signal handlers belong to the main thread (a command may be called elsewhere).
        main = threading.current_thread() is threading.main_thread()
        previous = (
            {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS} if main else {}
        )
        try:
            self.stdout.write(f"Sweeping every {every:g} seconds.")
            self.stdout.flush()
            self._sweep_until_stopped(stale_seconds, every)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Sweeper stopped.")

    def _on_signal(self, signum, frame):
        self._stop = True
        if self._waiting:
            raise _Stop  # between sweeps: stop now
        # During a sweep: it finishes, then the loop ends.

    def _sweep_until_stopped(self, stale_seconds, every):
        while not self._stop:
            # A connection broken since the last turn (database restarted) is replaced.
            close_old_connections()
            try:
                result = sweep(stale_after=stale_seconds)
            except DatabaseError as exc:
                # The class only: a database message may quote the values of a row.
                log.warning(
                    "sweep failed on the database (%s); trying again in %g s",
                    type(exc).__name__,
                    every,
                )
            else:
                self._report(result, quiet_when_idle=True)
            if not self._stop:  # a stop asked for during the sweep is not delayed
                self._send_reminders()
            if not self._stop:
                self._check_promises()
            if not self._stop:
                self._forget_import_files()
            self._waiting = True
            try:
                if not self._stop:  # a signal may have come just before _waiting was set
                    time.sleep(every)
            except _Stop:
                return
            finally:
                self._waiting = False

    def _send_reminders(self):
        """Session and Delphi round reminders that are due (each is sent once): the
        sweeper is the installation's one periodic process, so it carries them too."""
        self._side_job(
            "reminders failed",
            send_due_reminders,
            lambda counts: counts and f"{counts.get('sent', 0)} reminder(s) sent.",
        )

    def _check_promises(self):
        """Slip notices for promised pay dates about to slip (each is told once)."""
        self._side_job(
            "promise check failed",
            promises_check,
            lambda counts: counts and f"{sum(counts.values())} slip notice(s) sent.",
        )

    def _forget_import_files(self):
        """Import files kept past the hour they can be imported in (never applied, or stuck)."""
        self._side_job(
            "import file cleanup failed",
            forget_stale_files,
            lambda gone: gone and f"{gone} import file(s) deleted.",
        )

    def _side_job(self, failed, run, said):
        """One of the sweeper's side jobs: any failure (the database, the mail server) is
        logged by its class only and never stops the payments sweep; what it did, if
        anything, is printed."""
        try:
            result = run()
        except Exception as exc:  # a mail or database failure never stops the sweep
            log.warning("%s (%s)", failed, type(exc).__name__)
            return
        line = said(result)
        if line:
            self.stdout.write(line)
            self.stdout.flush()

    def _report(self, result, *, quiet_when_idle):
        if quiet_when_idle and not any(result.values()):
            return
        self.stdout.write(
            f"{result['enqueued']} payment(s) enqueued again, "
            f"{result['reversals']} reversal(s) tried again, "
            f"{result['receipts']} receipt(s) issued again, "
            f"{result['batches_closed']} batch(es) closed."
        )
        self.stdout.flush()
