"""The payouts baseline: a bare payer, the same Stripe SDK and sandbox, no Honora.

Each worker process builds one ``stripe.StripeClient`` as Honora's does
(payments/stripe/client.py: same base addresses, retries, timeout, a requests session),
then takes jobs from a shared queue and makes one transfer per payment, with an
idempotency key, and checks the answer's amount. No database, no Django.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from dataclasses import dataclass

STOP = None


@dataclass
class BareResult:
    payments: int
    elapsed: float
    cpu: float  # seconds, all worker processes, from the first job to the last
    errors: int


def _worker(api_key: str, base: str, jobs, results, ready) -> None:
    import requests
    import stripe

    session = requests.Session()
    session.trust_env = False  # the sandbox is on loopback, as Honora's client decides
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": base, "connect": base, "files": base, "meter_events": base},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=10, session=session),
    )
    ready.put(True)
    cpu_start = None
    done = errors = 0
    while True:
        job = jobs.get()
        if job is STOP:
            break
        if cpu_start is None:
            cpu_start = time.process_time()
        amount, destination, group = job
        try:
            transfer = client.v1.transfers.create(
                params={
                    "amount": amount,
                    "currency": "usd",
                    "destination": destination,
                    "transfer_group": group,
                    # The balance the bench funds, as Honora's STRIPE_TRANSFER_SOURCE_TYPE.
                    "source_type": "bank_account",
                },
                options={"idempotency_key": f"bare-{group}"},
            )
            if transfer.amount != amount:
                errors += 1
        except stripe.StripeError as exc:
            if not errors:
                print(f"bare payer: {exc!r}", flush=True)
            errors += 1
        done += 1
    cpu = time.process_time() - cpu_start if cpu_start is not None else 0.0
    results.put((done, errors, cpu))


def pay_bare(*, api_key: str, base: str, jobs: list[tuple[int, str]], workers: int) -> BareResult:
    """Pay ``jobs`` (amount in cents, destination account) with ``workers`` processes; the
    clock runs from the first job queued to the last transfer answered."""
    ctx = multiprocessing.get_context("spawn")
    queue, results, ready = ctx.Queue(), ctx.Queue(), ctx.Queue()
    processes = [
        ctx.Process(target=_worker, args=(api_key, base, queue, results, ready), daemon=True)
        for _ in range(workers)
    ]
    for p in processes:
        p.start()
    for _ in processes:  # every worker has imported the SDK and built its client
        ready.get(timeout=180)
    run = uuid.uuid4().hex[:8]
    t0 = time.monotonic()
    for i, (amount, destination) in enumerate(jobs):
        queue.put((amount, destination, f"bare-{run}-{i}"))
    for _ in processes:
        queue.put(STOP)
    outcomes = [results.get(timeout=600) for _ in processes]
    elapsed = time.monotonic() - t0
    for p in processes:
        p.join(timeout=60)
    return BareResult(
        payments=sum(o[0] for o in outcomes),
        elapsed=elapsed,
        cpu=sum(o[2] for o in outcomes),
        errors=sum(o[1] for o in outcomes),
    )
