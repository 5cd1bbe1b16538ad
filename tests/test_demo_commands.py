"""The demo commands: seed_demo, demo_totp and demo (which serves and stops cleanly)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from consultants.models import Consultant, TaxForm
from core.money import round_money
from demo.management.commands.demo import STOP_TIMEOUT_SECONDS
from engagements.models import Contribution, Phase, Study
from engagements.rates import RATE_KIND_FOR, rate_in_force
from stripe_sandbox import SandboxControl
from tests.processes import (
    STOP_SECONDS,
    alive,
    answers,
    children_of,
    free_port,
    group_alive,
    listening,
    wait_until,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
ROLES = {
    "coordinator@example.org": {"coordinator"},
    "coordinator2@example.org": {"coordinator"},
    "finance@example.org": {"finance"},
    "finance2@example.org": {"finance"},
    "admin@example.org": {"admin"},
    "consultant@example.org": {"consultant"},
    "consultant2@example.org": {"consultant"},
}


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "consultants": Consultant.objects.count(),
        "contributions": Contribution.objects.count(),
        "studies": Study.objects.count(),
        "authenticators": Authenticator.objects.count(),
    }


def test_seed_demo_builds_the_demo_study(debug):
    output = run("seed_demo")
    assert "Loaded the demo study." in output
    for email in ROLES:
        assert email in output
    assert "honora-demo" in output

    users = {u.email: u for u in User.objects.prefetch_related("groups")}
    assert set(users) == set(ROLES)
    for email, roles in ROLES.items():
        user = users[email]
        assert set(user.role_names) == roles, email
        assert user.check_password("honora-demo"), email
        assert user.is_staff == ("consultant" not in roles), email
    assert users["consultant@example.org"].consultant.display_name == "River"
    assert users["consultant2@example.org"].consultant.display_name == "Sol"

    study = Study.objects.get()
    assert [p.name for p in Phase.objects.filter(study=study).order_by("position")] == [
        "Design",
        "Recruitment",
        "Instrument review",
        "Analysis",
        "Dissemination",
    ]
    assert 10 <= Consultant.objects.count() <= 14
    on_file = TaxForm.objects.filter(status=TaxForm.Status.RECEIVED).count()
    assert 0 < on_file < Consultant.objects.count()
    assert Consultant.objects.filter(benefits_cap_amount__isnull=False).exists()
    assert len(set(Consultant.objects.values_list("payout_method", flat=True))) >= 4

    statuses = Counter(Contribution.objects.values_list("status", flat=True))
    assert 200 <= sum(statuses.values()) <= 1000
    for status in ("draft", "submitted", "approved", "rejected"):
        assert statuses[status] > 0, status
    assert len(set(Contribution.objects.values_list("engagement__phase", flat=True))) == 5
    # Approved entries carry a frozen amount, priced by the rules the services use.
    for c in Contribution.objects.filter(status="approved", kind="hours")[:50]:
        assert c.approved_by_id != c.logged_by_id
        assert c.amount == round_money(c.quantity * c.rate)
    amounts = Contribution.objects.exclude(amount=None).values_list("amount", flat=True)
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)

    totp_users = set(
        Authenticator.objects.filter(type=Authenticator.Type.TOTP).values_list(
            "user__email", flat=True
        )
    )
    assert totp_users == {"finance@example.org", "finance2@example.org", "admin@example.org"}
    assert len(re.findall(r"TOTP secret [A-Z2-7]{32}", output)) == 3

    # A second run changes nothing.
    before = counts()
    output = run("seed_demo")
    assert "already loaded" in output
    assert counts() == before


def test_demo_totp_prints_a_code_that_allauth_accepts(debug, totp_clock):
    run("seed_demo")
    code = run("demo_totp", "Finance@Example.org").strip()
    assert re.fullmatch(r"\d{6}", code)
    user = User.objects.get(email="finance@example.org")
    totp = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP))
    assert totp.validate_code(code)

    with pytest.raises(CommandError):
        run("demo_totp", "coordinator@example.org")  # no authenticator
    with pytest.raises(CommandError):
        run("demo_totp", "nobody@example.org")


def test_seed_demo_takes_another_password(debug):
    run("seed_demo", "--password", "another-pass-phrase")
    user = User.objects.get(email="finance@example.org")
    assert user.check_password("another-pass-phrase")
    assert not user.check_password("honora-demo")


def test_seed_demo_scale_adds_a_year_of_approved_work_per_consultant(debug):
    run("seed_demo")
    before = set(Consultant.objects.values_list("pk", flat=True))
    contributions_before = Contribution.objects.count()
    output = run("seed_demo", "--scale", "3")
    assert "Added 3 consultants and 156 contributions." in output
    added = Consultant.objects.exclude(pk__in=before)
    assert added.count() == 3
    assert Contribution.objects.count() == contributions_before + 156
    for consultant in added:
        rows = Contribution.objects.filter(engagement__consultant=consultant)
        assert rows.count() == 52
        assert set(rows.values_list("status", flat=True)) == {"approved"}
        assert consultant.tax_form is not None
    # Each is priced at the rate in force on its day, as approval would have.
    for c in Contribution.objects.filter(engagement__consultant__in=added).select_related(
        "engagement"
    ):
        rate = rate_in_force(
            rate_card=c.engagement.rate_card,
            activity=c.activity,
            kind=RATE_KIND_FOR[c.kind],
            on=c.date,
        )
        assert rate is not None, c.date
        assert (c.rate, c.amount) == (rate.amount, round_money(c.quantity * rate.amount))
        assert c.approved_by_id != c.logged_by_id
    history = Contribution.history.filter(engagement__consultant__in=added)
    assert history.count() == 156
    assert not history.filter(history_user__isnull=True).exists()
    assert not history.filter(history_action="").exists()


@pytest.mark.parametrize(
    "command", [("seed_demo",), ("demo_totp", "finance@example.org"), ("demo", "--port", "1")]
)
def test_demo_commands_refuse_to_run_without_debug(settings, command):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run(*command)
    assert not User.objects.exists()


# --- the one-command demo, for real --------------------------------------------------

# Generous limits, and readiness polled rather than slept for: on a busy 2-core machine
# a fresh Django process can take minutes to start (migrations, the demo data).
START_SECONDS = 600


def demo_env(tmp_path, sandbox_port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DEBUG",
            "REDIS_URL",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env["HONORA_VAR_DIR"] = str(tmp_path / "var")
    env["STRIPE_API_BASE"] = f"http://127.0.0.1:{sandbox_port}"
    env.pop("SITE_URL", None)
    return env


class RunningDemo:
    """``manage.py demo`` in a process group of its own, as a terminal would start it."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.sandbox_port = free_port()
        self.log_path = tmp_path / "demo.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(self.port)],
            cwd=ROOT,
            env=demo_env(tmp_path, self.sandbox_port),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal gives it
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_until_ready(self) -> None:
        """The web page answers, the demo says so, and the worker and sweeper have started."""
        wait_until(
            lambda: answers(f"http://127.0.0.1:{self.port}/accounts/login/"),
            seconds=START_SECONDS,
            what="the demo's web server",
            still_running=lambda: self.process.poll() is None,
            details=lambda: self.output()[-3000:],
        )
        for line in ("Honora is at", "Starting worker", "Sweeping every"):
            wait_until(
                lambda line=line: line in self.output(),
                seconds=START_SECONDS,
                what=repr(line),
                still_running=lambda: self.process.poll() is None,
                details=lambda: self.output()[-3000:],
            )

    def close(self) -> None:
        if group_alive(self.process.pid):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in children_of(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()


@pytest.fixture
def running_demo(tmp_path):
    demo = RunningDemo(tmp_path)
    try:
        demo.wait_until_ready()
        yield demo
    finally:
        demo.close()


def stop_and_check(demo: RunningDemo, sig: signal.Signals) -> str:
    """Send ``sig`` to the demo alone; every process it started must be gone after."""
    children = children_of(demo.process.pid)
    assert len(children) == 4, children  # sandbox, web server, worker, sweeper
    demo.process.send_signal(sig)
    # The demo gives its children STOP_TIMEOUT_SECONDS before it kills them.
    demo.process.wait(timeout=STOP_TIMEOUT_SECONDS + STOP_SECONDS)
    wait_until(
        lambda: not [pid for pid in children if alive(pid)],
        seconds=STOP_SECONDS,
        what="every process the demo started to stop",
        details=lambda: demo.output()[-3000:],
    )
    assert not group_alive(demo.process.pid), "a process the demo started is still running"
    assert not listening(demo.port)
    assert not listening(demo.sandbox_port)
    output = demo.output()
    assert "Traceback" not in output, output[-3000:]
    return output


def _account_updates_delivered(control: SandboxControl) -> bool:
    events = {e["id"] for e in control.call("GET", "events?type=account.updated")["data"]}
    delivered = {
        d["event_id"]
        for d in control.deliveries()
        if d["ok"] and d["event_type"] == "account.updated"
    }
    return bool(events) and events <= delivered


def test_demo_serves_and_stops_everything_on_ctrl_c(running_demo, tmp_path):

    assert (tmp_path / "var" / "honora.sqlite3").exists()
    # The onboarded accounts' account.updated events go out before the web server is up;
    # the sandbox's retries (quick ones, then a minute later) deliver every one of them.
    control = SandboxControl(f"http://127.0.0.1:{running_demo.sandbox_port}")
    wait_until(
        lambda: _account_updates_delivered(control),
        seconds=START_SECONDS,
        what="every account.updated delivered to the demo",
        still_running=lambda: running_demo.process.poll() is None,
        details=lambda: str(control.pending_deliveries())[-3000:],
    )
    assert control.pending_deliveries()["given_up"] == []
    # Stripe's test mode starts at zero: the demo funds its platform as a study's is, by
    # bank top-ups (bank_account money, what Honora's transfers draw from).
    funds = control.balance()
    assert 0 < funds["source_types"]["bank_account"] <= 10_000_000  # less what it paid
    # To the demo alone (a terminal's Ctrl-C reaches the whole group): the demo
    # itself must pass it on to the server and the worker.
    output = stop_and_check(running_demo, signal.SIGINT)
    assert "Loaded the demo study." in output
    assert "Connected 3 consultants to sandbox Stripe accounts." in output
    assert f"Stripe sandbox listening on http://127.0.0.1:{running_demo.sandbox_port}" in output


def test_demo_stops_everything_on_sigterm(running_demo):
    # ``kill PID`` or a process manager: the same clean stop as Ctrl-C.
    output = stop_and_check(running_demo, signal.SIGTERM)
    assert running_demo.process.returncode == 0
    assert "Stopping the demo..." in output


@pytest.mark.parametrize("taken", ["web", "sandbox"])
def test_demo_says_so_when_a_port_is_taken(tmp_path, taken):
    port, sandbox_port = free_port(), free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port if taken == "web" else sandbox_port))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=ROOT,
            env=demo_env(tmp_path, sandbox_port),
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "is already in use" in output
    assert "Traceback" not in output, output
    assert not (tmp_path / "var" / "honora.sqlite3").exists()  # nothing was started
