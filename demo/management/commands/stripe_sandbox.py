from django.core.management.base import BaseCommand

from stripe_sandbox.cli import add_arguments, build, run


class Command(BaseCommand):
    help = "Run Honora's local Stripe-compatible sandbox on 127.0.0.1 until Ctrl-C."

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        run(build(options), out=self.stdout)
