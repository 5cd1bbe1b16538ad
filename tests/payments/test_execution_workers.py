"""Real ``manage.py db_worker`` processes on PostgreSQL, against the sandbox.

Workers claim tasks with SKIP LOCKED; one is killed with SIGKILL while Stripe has
made its transfer but before it could record it; a fresh worker (after the sweep)
finishes the batch. Stripe's dump shows one live transfer per payment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from payments.models import Payment, PaymentAttempt
from payments.stripe import engine
from payments.tasks import pay_payment
from tests.conftest import requires_postgres
from tests.stripe_sandbox.fixtures import API_KEY, WEBHOOK_SECRET

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def start_worker(sandbox, name: str, *, timeout: int = 2) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": sandbox.url,
        "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "STRIPE_TIMEOUT": str(timeout),
        "PAYMENTS_RETRY_BASE_SECONDS": "0",
        "PAYMENTS_CLAIM_MARGIN_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.05",
            "--no-startup-delay",
            "--no-reload",
            "--worker-id",
            name,
            "--verbosity",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(*workers: subprocess.Popen) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        if worker.stderr:
            worker.stderr.close()


def wait_until(condition, *, seconds: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def all_paid(batch) -> bool:
    return not Payment.objects.filter(batch=batch).exclude(status=Payment.Status.PAID).exists()


@pytest.fixture
def db_tasks(stripe_settings, settings):
    settings.TASKS = DB_TASKS
    return settings


def test_two_db_workers_on_one_batch_with_every_task_twice_pay_once(
    db_tasks, payout_world, stripe_sandbox
):
    stripe_sandbox.set_latency(20)
    for i in range(16):
        payout_world.consultant([f"{20 + i}.25"])
    batch = payout_world.executed_batch()  # enqueues one task per payment (after commit)
    for payment in Payment.objects.filter(batch=batch):
        pay_payment.enqueue(payment.pk)  # and a duplicate of each
    workers = [start_worker(stripe_sandbox, f"w{i}") for i in range(2)]
    try:
        wait_until(lambda: all_paid(batch), what="the batch to be paid")
    finally:
        stop(*workers)
    payout_world.assert_paid_exactly_once(list(Payment.objects.filter(batch=batch)))
    assert PaymentAttempt.objects.count() == 16


def test_a_worker_killed_between_the_call_and_the_commit_pays_once_after_a_fresh_worker(
    db_tasks, payout_world, stripe_sandbox
):
    for i in range(6):
        payout_world.consultant([f"{100 + i}.00"])
    # The first transfer is made at Stripe, then its answer is held back: the worker
    # is killed in exactly the window between Stripe's commit and Honora's.
    held = stripe_sandbox.faults.add(
        "delay", method="POST", path="/v1/transfers", delay_ms=60_000, phase="after_commit"
    )
    batch = payout_world.executed_batch()
    doomed = start_worker(stripe_sandbox, "doomed", timeout=120)
    try:
        assert held.wait_triggered(timeout=30)
        [made] = stripe_sandbox.live_transfers()
        victim = Payment.objects.get(public_id=made["transfer_group"])
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        stop(doomed)
        held.release()
    victim.refresh_from_db()
    assert victim.status == Payment.Status.PROCESSING and victim.transfer_id == ""
    attempt = PaymentAttempt.objects.get(payment=victim)
    assert attempt.status == PaymentAttempt.Status.STARTED
    assert attempt.claimed_until > timezone.now()  # the dead worker's claim still stands

    fresh = start_worker(stripe_sandbox, "fresh")
    try:
        others = Payment.objects.filter(batch=batch).exclude(pk=victim.pk)
        wait_until(
            lambda: not others.exclude(status=Payment.Status.PAID).exists(),
            what="the other payments",
        )
        victim.refresh_from_db()
        assert victim.status == Payment.Status.PROCESSING  # nobody touched it: claimed
        # Time passes: the claim expires and the sweep (cron's job) enqueues it again.
        PaymentAttempt.objects.filter(pk=attempt.pk).update(claimed_until=timezone.now())
        assert engine.sweep(stale_after=0)["enqueued"] == 1
        wait_until(lambda: all_paid(batch), what="the victim to be paid")
    finally:
        stop(fresh)
    payout_world.assert_paid_exactly_once(list(Payment.objects.filter(batch=batch)))
    victim.refresh_from_db()
    assert victim.transfer_id == made["id"]
    attempt.refresh_from_db()
    assert attempt.tries == 2 and attempt.status == PaymentAttempt.Status.SUCCEEDED
    replays = [r for r in stripe_sandbox.requests if r.get("replayed")]
    assert [r["idempotency_key"] for r in replays] == [attempt.idempotency_key]
