from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import api_token_create
from core.errors import DomainError


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (for automation and tests)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, email, name, days, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError("No user has that e-mail address.")
        try:
            _token, text = api_token_create(user=user, name=name, days=days)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(text)
