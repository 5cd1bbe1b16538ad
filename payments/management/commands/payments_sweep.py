"""Pick up Stripe payments that no worker is moving (run every minute or so, e.g. cron).

A worker killed mid-call leaves its attempt claimed; once the claim expires the
payment's task is enqueued again, and it calls Stripe with the same key. Reversals
of returned payments that are not confirmed yet are tried again too, and so are the
receipts of paid payments that have none rendered (a worker died before issuing it).
``--every N`` keeps sweeping every N seconds (beside the workers, under a supervisor).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from payments.stripe.engine import sweep


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
            help="sweep again every this many seconds, until stopped",
        )

    def handle(self, *args, stale_seconds=None, every=None, **options):
        while True:
            result = sweep(stale_after=stale_seconds)
            quiet = every and not any(result.values())
            if not quiet:
                self.stdout.write(
                    f"{result['enqueued']} payment(s) enqueued again, "
                    f"{result['reversals']} reversal(s) tried again, "
                    f"{result['receipts']} receipt(s) issued again, "
                    f"{result['batches_closed']} batch(es) closed."
                )
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:  # Ctrl-C between sweeps: stop quietly
                return
