from django.core.management.base import BaseCommand

from demo import data
from demo.accounts import refuse_unless_debug


def print_sign_ins(
    stdout, result, password: str | None, url: str = "http://127.0.0.1:8000/"
) -> None:
    stdout.write(f"Sign in at {url} with:")
    for email, _name, roles in data.DEMO_USERS:
        line = f"  {', '.join(roles):<12} {email:<28}"
        if password:
            line += f" password {password}"
        stdout.write(line)
    if result.totp:
        stdout.write("Finance and admin also enter a two-step code from an authenticator app:")
        for email, (secret, codes) in result.totp.items():
            stdout.write(f"  {email:<28} TOTP secret {secret}  recovery code {codes[0]}")
    stdout.write("Print a current code any time with: uv run manage.py demo_totp EMAIL")


class Command(BaseCommand):
    help = "Load the demo study with one user per role (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=data.DEMO_PASSWORD)
        parser.add_argument(
            "--scale",
            type=int,
            default=0,
            metavar="N",
            help="Also add N consultants with a year of approved work each (for benchmarks).",
        )

    def handle(self, *args, password, scale, **options):
        refuse_unless_debug("seed_demo")
        result = data.seed_demo(password=password)
        if result.created:
            self.stdout.write(self.style.SUCCESS("Loaded the demo study."))
            print_sign_ins(self.stdout, result, password)
        else:
            self.stdout.write("The demo study is already loaded; nothing was changed.")
        if scale:
            rows = data.seed_scale(consultants=scale)
            self.stdout.write(f"Added {scale} consultants and {rows} contributions.")
