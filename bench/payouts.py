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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _processes import PG, cpu_seconds, ensure_database, start_sandbox, start_worker
from _seed import CUTOFF, seed_payees

DB_NAME = "honora_bench"
API_KEY = "sk_test_honora_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate-limit", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="db_worker --interval")
    parser.add_argument("--database", default=DB_NAME, help=f"PostgreSQL database ({DB_NAME})")
    args = parser.parse_args()

    ensure_database(args.database)
    sandbox_process, sandbox = start_sandbox(latency_ms=args.latency_ms, rate_limit=args.rate_limit)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"{PG}/{args.database}",
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

    print(f"database {args.database}: migrating and emptying ...", flush=True)
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


def build_batch(sandbox, n: int):
    from payments.services.batches import batch_approve, batch_build, batch_submit

    seeded = seed_payees(sandbox, n)
    finance, finance2 = seeded.finance, seeded.finance2
    t0 = time.monotonic()
    batch = batch_build(by=finance, cutoff_date=CUTOFF)
    batch_submit(batch=batch, by=finance)
    batch = batch_approve(batch=batch, by=finance2)
    print(f"built and approved in {time.monotonic() - t0:.1f}s")
    return batch


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
