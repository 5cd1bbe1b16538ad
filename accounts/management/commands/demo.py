"""One command for the whole offline demo: database, demo data, web server."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.demo import refuse_unless_debug
from accounts.models import User
from engagements import demo_data
from engagements.management.commands.seed_demo import print_sign_ins


class Command(BaseCommand):
    help = "Migrate, load the demo study if the database is empty, and serve Honora (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, addr, port, **options):
        refuse_unless_debug("demo")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if not User.objects.exists():
            result = demo_data.seed_demo()
            self.stdout.write(self.style.SUCCESS("Loaded the demo study."))
            print_sign_ins(self.stdout, result, demo_data.DEMO_PASSWORD)
        else:
            self.stdout.write("Using the existing database; the demo sign-ins are:")
            print_sign_ins(
                self.stdout, demo_data.SeedResult(None, {}, {}, False), demo_data.DEMO_PASSWORD
            )

        manage = str(Path(settings.BASE_DIR) / "manage.py")
        commands = [
            [sys.executable, manage, "runserver", f"{addr}:{port}", "--noreload"],
            [sys.executable, manage, "db_worker", "--interval", "0.5", "--no-reload"],
        ]
        children = [subprocess.Popen(cmd) for cmd in commands]  # noqa: S603 - our own commands
        self.stdout.write(f"Honora is at http://{addr}:{port}/ . Press Ctrl-C to stop.")
        try:
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
