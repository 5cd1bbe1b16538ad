"""Benchmark: a batch of 2,000 Stripe payments paid by 4 real db_worker processes.

    uv run python bench/payouts.py [--payments 2000] [--workers 4]

Not a test. It uses the PostgreSQL database ``honora_bench`` (created and migrated
if needed; its rows are flushed first), starts the local Stripe sandbox in its own
process (``python -m stripe_sandbox``, as Stripe is its own service) with 50 ms of
latency per call and a limit of 100 requests a second, builds and approves a batch,
starts the workers, executes the batch and times it, from the click on "execute"
until every payment is settled. It then checks Stripe's dump: one live transfer per payment, for its
amount in cents, and no payment paid twice. Target: 50 payments a second or more.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "honora_bench"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
API_KEY = "sk_test_honora_bench"


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate-limit", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="db_worker --interval")
    args = parser.parse_args()

    ensure_database()
    sandbox_process, sandbox = start_sandbox(args)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": sandbox.url_base,
        "STRIPE_WEBHOOK_SECRETS": "whsec_honora_bench",
        "STRIPE_MAX_NETWORK_RETRIES": "2",
        "STRIPE_TIMEOUT": "10",
        "PAYMENTS_RETRY_BASE_SECONDS": "1",
        # A worker keeps its database connection between tasks (as in production).
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    print(f"database {DB_NAME}: migrating and emptying ...", flush=True)
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from accounts.roles import sync_roles

    sync_roles()
    batch = build_batch(sandbox, args.payments)
    print(f"batch of {batch.payments.count()} payments approved; starting {args.workers} workers")

    workers = [start_worker(env, f"bench-{i}", args.interval) for i in range(args.workers)]
    try:
        time.sleep(2 + 1.5 * args.workers)  # let the workers boot (not timed)
        from payments.models import Payment
        from payments.services.batches import batch_execute

        finance = batch.created_by
        t0 = time.monotonic()
        batch_execute(batch=batch, by=finance)
        print(f"  {time.monotonic() - t0:6.1f}s  batch executed: tasks enqueued", flush=True)
        open_statuses = (Payment.Status.PENDING, Payment.Status.PROCESSING)
        last = None
        while True:
            left = Payment.objects.filter(batch=batch, status__in=open_statuses).count()
            if left == 0:
                break
            now = time.monotonic()
            if last is None or now - last >= 2:
                done = args.payments - left
                print(f"  {now - t0:6.1f}s  {done} settled", flush=True)
                last = now
            if any(w.poll() is not None for w in workers):
                raise SystemExit("a worker exited early")
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        cpu = sum(cpu_seconds(w.pid) for w in workers)
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
            w.wait()
    try:
        report(sandbox, batch, elapsed, args)
        print(f"worker CPU:          {cpu:.1f} s ({1000 * cpu / args.payments:.1f} ms per payment)")
    finally:
        sandbox_process.terminate()
        sandbox_process.wait()


def start_sandbox(args):
    import socket

    from stripe_sandbox import SandboxControl

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_sandbox",
            "--port",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
            "--rate-limit",
            str(args.rate_limit),
            "--balance",
            str(10**12),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    control = SandboxControl(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 15
    while True:
        try:
            control.health()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    control.url_base = f"http://127.0.0.1:{port}"
    return process, control


def build_batch(sandbox, n: int):
    from django.utils import timezone

    from accounts.models import User
    from consultants.models import Consultant, PayoutMethod, TaxForm
    from engagements.models import Contribution, Engagement, Phase, Rate, RateCard, Study
    from payments.models import StripeAccount
    from payments.services.batches import batch_approve, batch_build, batch_submit

    def user(email, role):
        from django.contrib.auth.models import Group

        u = User.objects.create_user(email=email, password="bench-password-not-used", name=email)
        u.groups.set(Group.objects.filter(name=role))
        u.is_staff = True
        u.save()
        return u

    finance, finance2 = user("f1@bench.invalid", "finance"), user("f2@bench.invalid", "finance")
    coordinator = user("c@bench.invalid", "coordinator")
    study = Study.objects.create(name="Bench study", hourly_rate_floor=Decimal("57.00"))
    phase = Phase.objects.create(study=study, name="Design", position=1)
    card = RateCard.objects.create(study=study, name="Card")
    Rate.objects.create(
        rate_card=card,
        kind=Rate.Kind.FLAT,
        amount=Decimal("150.00"),
        floor=Decimal("0"),
        effective_from=date(2020, 1, 1),
    )
    consultants = Consultant.objects.bulk_create(
        [Consultant(display_name=f"Bench {i}", payout_method=PayoutMethod.STRIPE) for i in range(n)]
    )
    TaxForm.objects.bulk_create(
        [
            TaxForm(consultant=c, status=TaxForm.Status.RECEIVED, received_on=date(2026, 1, 2))
            for c in consultants
        ]
    )
    StripeAccount.objects.bulk_create(
        [
            StripeAccount(
                consultant=c,
                account_id=sandbox.create_account(onboarded=True)["id"],
                payouts_enabled=True,
                transfers_active=True,
                details_submitted=True,
            )
            for c in consultants
        ]
    )
    engagements = Engagement.objects.bulk_create(
        [Engagement(consultant=c, phase=phase, role="Advisor", rate_card=card) for c in consultants]
    )
    now = timezone.now()
    Contribution.objects.bulk_create(
        [
            Contribution(
                engagement=e,
                kind=Contribution.Kind.HONORARIUM,
                activity="work",
                date=date(2026, 3, 12),
                quantity=Decimal("1"),
                rate=Decimal("150.00"),
                amount=Decimal("100.00") + Decimal(i % 100) / 100,
                status=Contribution.Status.APPROVED,
                logged_by=coordinator,
                approved_by=finance2,
                approved_at=now,
            )
            for i, e in enumerate(engagements)
        ]
    )
    t0 = time.monotonic()
    batch = batch_build(by=finance, cutoff_date=date(2026, 3, 31))
    batch_submit(batch=batch, by=finance)
    batch = batch_approve(batch=batch, by=finance2)
    print(f"built and approved in {time.monotonic() - t0:.1f}s")
    return batch


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_worker(env: dict, name: str, interval: float) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            str(interval),
            "--no-startup-delay",
            "--no-reload",
            "--worker-id",
            name,
            "--verbosity",
            "0",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )


def report(sandbox, batch, elapsed: float, args) -> None:
    from payments.models import Payment, PaymentAttempt

    payments = list(Payment.objects.filter(batch=batch))
    statuses: dict[str, int] = {}
    for p in payments:
        statuses[p.status] = statuses.get(p.status, 0) + 1
    live = [t for t in sandbox.transfers() if not t["reversed"]]
    by_group: dict[str, list[dict]] = {}
    for t in live:
        by_group.setdefault(t["transfer_group"], []).append(t)
    duplicates = sandbox.duplicate_live_transfers()
    wrong = [
        p.public_id
        for p in payments
        if p.status == Payment.Status.PAID
        and (
            len(by_group.get(str(p.public_id), [])) != 1
            or by_group[str(p.public_id)][0]["amount"] != int(p.amount * 100)
            or by_group[str(p.public_id)][0]["id"] != p.transfer_id
        )
    ]
    requests = sandbox.requests()
    rate_limited = sum(1 for r in requests if r["status"] == 429)
    print()
    print(f"payments:            {len(payments)}  {statuses}")
    print(f"workers:             {args.workers}")
    print(f"sandbox:             {args.latency_ms} ms per call, {args.rate_limit} requests/s")
    print(f"API requests:        {len(requests)} ({rate_limited} answered 429)")
    print(f"attempts:            {PaymentAttempt.objects.filter(payment__batch=batch).count()}")
    print(f"live transfers:      {len(live)}")
    print(f"duplicates:          {len(duplicates)}")
    print(f"elapsed:             {elapsed:.1f} s")
    print(f"throughput:          {len(payments) / elapsed:.1f} payments/s (target >= 50)")
    assert not duplicates, duplicates
    assert not wrong, wrong[:5]
    assert statuses == {Payment.Status.PAID: len(payments)}, statuses
    assert len(live) == len(payments)


if __name__ == "__main__":
    main()
