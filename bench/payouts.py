"""Benchmark: a batch of 2,000 Stripe payments paid by 4 real db_worker processes.

    uv run python bench/payouts.py [--payments 2000] [--workers 4]

Not a test. It uses the PostgreSQL database ``honora_bench`` (created and migrated
if needed; its rows are flushed first), starts the local Stripe sandbox in its own
process (``python -m stripe_sandbox``, as Stripe is its own service) with 50 ms of
latency per call and a limit of 100 requests a second, builds and approves a batch,
starts the workers, executes the batch and times it, from the click on "execute"
until every payment is settled. It then checks Stripe's dump: one live transfer per payment, for its
amount in cents, and no payment paid twice. Target: 50 payments a second or more.

The baseline, in the same invocation: a bare payer (bench/_bare.py: the same stripe SDK
``StripeClient``, the same sandbox, the same number of worker processes, one transfer per
payment, no Honora) pays the same amounts to the same accounts once before Honora's run
and once after it, so load drift on a shared machine shows on both sides; the report
gives Honora's rate, the bare rate (mean of the two), the ratio, and CPU per payment
(Honora's workers from the click on "execute"; the bare workers from their first job).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bare import BareResult, pay_bare
from _processes import (
    PG,
    cpu_seconds,
    ensure_database,
    start_sandbox,
    start_worker,
    wait_for,
)
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
    try:
        run(args, env, sandbox)
    finally:
        sandbox_process.terminate()
        sandbox_process.wait()


def run(args, env: dict, sandbox) -> None:
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
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    jobs = bare_jobs(batch)
    bare_runs = [bare_run(sandbox, jobs, args.workers, "before")]
    print(f"batch of {batch.payments.count()} payments approved; starting {args.workers} workers")

    workers = [start_worker(env, f"bench-{i}", args.interval) for i in range(args.workers)]
    try:
        wait_until_polling(workers, args.database)  # booting is not timed
        from payments.models import Payment
        from payments.services.batches import batch_execute

        finance = batch.created_by
        cpu_before = sum(cpu_seconds(w.pid) for w in workers)  # booting and idle polls
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
        cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
            w.wait()
    report(sandbox, batch, elapsed, args)
    bare_runs.append(bare_run(sandbox, jobs, args.workers, "after"))
    compare(args.payments, elapsed, cpu, bare_runs)


def wait_until_polling(workers, database: str) -> None:
    """Every worker has booted: it holds its connection (opened by its first poll of the
    task table) and its CPU has stopped climbing (it sleeps between idle polls).

    A fixed sleep is not enough on a busy machine: Django's start-up then lands inside
    the timed run, and its CPU in the figures.
    """
    from django.db import connection

    def connected() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            )
            return cursor.fetchone()[0] >= len(workers)

    def idle() -> bool:
        before = sum(cpu_seconds(w.pid) for w in workers)
        time.sleep(1)
        return sum(cpu_seconds(w.pid) for w in workers) - before < 0.1 * len(workers)

    alive = lambda: all(w.poll() is None for w in workers)  # noqa: E731
    wait_for("workers connected", connected, alive=alive, every=0.5)
    wait_for("workers idle", idle, alive=alive, seconds=60, every=0)


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


def bare_jobs(batch) -> list[tuple[int, str]]:
    """(cents, destination account) for each payment of the batch, as Honora will pay them."""
    from payments.models import StripeAccount

    accounts = dict(StripeAccount.objects.values_list("consultant_id", "account_id"))
    return [
        (int(p.amount * 100), accounts[p.consultant_id])
        for p in batch.payments.order_by("id").only("amount", "consultant_id")
    ]


def bare_run(sandbox, jobs, workers: int, when: str) -> BareResult:
    result = pay_bare(api_key=API_KEY, base=sandbox.url_base, jobs=jobs, workers=workers)
    print(
        f"bare payer ({when} Honora): {result.payments} transfers in {result.elapsed:.1f} s"
        f" ({result.payments / result.elapsed:.1f}/s), {result.errors} errors",
        flush=True,
    )
    if result.errors or result.payments != len(jobs):
        raise SystemExit("the bare payer did not make every transfer")
    return result


def compare(payments: int, elapsed: float, cpu: float, bare_runs: list[BareResult]) -> None:
    honora_rate = payments / elapsed
    bare_rates = [r.payments / r.elapsed for r in bare_runs]
    bare_rate = sum(bare_rates) / len(bare_rates)
    bare_cpu = sum(r.cpu for r in bare_runs) / sum(r.payments for r in bare_runs)
    print()
    print(f"{'':<22}{'payments/s':>12}{'CPU ms/payment':>16}")
    print(f"{'Honora':<22}{honora_rate:12.1f}{1000 * cpu / payments:16.1f}")
    runs = ", ".join(f"{r:.1f}" for r in bare_rates)
    print(f"{'bare payer (mean)':<22}{bare_rate:12.1f}{1000 * bare_cpu:16.1f}   runs: {runs}")
    print(f"{'Honora / bare':<22}{honora_rate / bare_rate:11.0%} (target >= 80 %)")


def report(sandbox, batch, elapsed: float, args) -> None:
    from payments.models import Payment, PaymentAttempt

    payments = list(Payment.objects.filter(batch=batch))
    statuses: dict[str, int] = {}
    for p in payments:
        statuses[p.status] = statuses.get(p.status, 0) + 1
    ours = {str(p.public_id) for p in payments}  # not the bare payer's transfers
    live = [t for t in sandbox.transfers() if not t["reversed"] and t["transfer_group"] in ours]
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
