from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from demo.accounts import current_totp_code, refuse_unless_debug


class Command(BaseCommand):
    help = "Print the current two-step sign-in code of a demo user (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        refuse_unless_debug("demo_totp")
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError("No user has that e-mail address.")
        self.stdout.write(current_totp_code(user))
