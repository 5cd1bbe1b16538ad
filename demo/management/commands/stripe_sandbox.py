from django.core.management.base import BaseCommand

from stripe_sandbox.cli import add_arguments, build, run

# Stripe's test mode (and ``python -m stripe_sandbox``) starts at zero. For the demo and
# for trying Honora by hand the platform is funded as a study's is, by bank top-ups:
# $100,000 of bank_account money (``--balance 0`` starts empty).
DEMO_FUNDS = 10_000_000


class Command(BaseCommand):
    help = "Run Honora's local Stripe-compatible sandbox on 127.0.0.1 until Ctrl-C."

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.set_defaults(balance=DEMO_FUNDS, balance_source_type="bank_account")

    def handle(self, *args, **options):
        run(build(options), out=self.stdout)
