"""SIGTERM stops the Procfile's ``worker`` and ``sweep`` cleanly (``web``: see test_web).

A worker that has a task in hand finishes it (and records it SUCCESSFUL) before it
exits; the sweeper finishes a sweep under way and never waits out its interval.
"""

from __future__ import annotations

import io
import logging
import os
import signal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError

from payments.management.commands import payments_sweep
from tests.processes import STOP_SECONDS, wait_until
from tests.production.conftest import manage, production_env


def django_shell(env: dict[str, str], code: str) -> str:
    return manage(env, "shell", "--no-imports", "-c", code).strip()


def stop(run, sig: signal.Signals = signal.SIGTERM) -> int:
    run.process.send_signal(sig)
    return run.process.wait(timeout=STOP_SECONDS)


def test_a_worker_given_sigterm_mid_task_finishes_the_task_then_exits_0(
    tmp_path, database_url, started
):
    env = production_env(database_url, tmp_path / "static", tmp_path / "var")
    flag = tmp_path / "flag"
    task_id = django_shell(
        env,
        "from tests.production.tasks import wait_for_flag; "
        f"print(wait_for_flag.enqueue({str(flag)!r}).id)",
    )
    worker = started("worker", env)
    wait_until(
        Path(f"{flag}.started").exists,
        what="the worker to start the task",
        still_running=worker.running,
        details=worker.tail,
    )

    worker.process.send_signal(signal.SIGTERM)
    wait_until(
        lambda: worker.says("shutting down gracefully"),
        seconds=STOP_SECONDS,
        what="the worker to take the signal",
        details=worker.tail,
    )
    assert worker.running(), "the worker stopped with its task in hand"

    flag.touch()  # the task may finish now
    assert worker.process.wait(timeout=STOP_SECONDS) == 0, worker.tail()
    assert "Traceback" not in worker.output()

    status = django_shell(
        env,
        "from django_tasks_db.models import DBTaskResult; "
        f"result = DBTaskResult.objects.get(id={task_id!r}); "
        "print(result.status, result.return_value, *result.worker_ids)",
    )
    # The Procfile's worker id: the host's name and the worker's process id.
    assert status.split() == [
        "SUCCESSFUL",
        "finished",
        f"{os.uname().nodename[:48]}-{worker.pid}",
    ]


def test_an_idle_worker_exits_0_at_once_on_sigterm(tmp_path, database_url, started):
    worker = started("worker", production_env(database_url, tmp_path / "s", tmp_path / "var"))
    wait_until(
        lambda: worker.says("Starting worker"),
        what="the worker to start",
        still_running=worker.running,
        details=worker.tail,
    )
    assert stop(worker) == 0, worker.tail()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_sweeper_exits_0_on_a_stop_signal(tmp_path, database_url, started, sig):
    sweeper = started("sweep", production_env(database_url, tmp_path / "s", tmp_path / "var"))
    wait_until(
        lambda: sweeper.says("Sweeping every 60 seconds."),
        what="the sweeper to start",
        still_running=sweeper.running,
        details=sweeper.tail,
    )
    assert stop(sweeper, sig) == 0, sweeper.tail()
    output = sweeper.output()
    assert "Sweeper stopped." in output
    assert "Traceback" not in output


# --- the sweeper's loop, in this process ------------------------------------------------

NOTHING = {"enqueued": 0, "reversals": 0, "receipts": 0, "batches_closed": 0}


def run_sweeper(*args: str) -> str:
    out = io.StringIO()
    call_command("payments_sweep", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def fresh_connections(monkeypatch):
    """The turns on which the loop asked for a fresh database connection.

    The loop's reminders (``meetings.reminders``) are stubbed too: these tests have
    no database, and what they prove is the loop's own handling of signals and errors.

    These tests stand a fake in for the sweep and touch no database; the loop's
    close_old_connections() would reach the connection an earlier test on this
    worker left open, which pytest-django refuses outside a database test.
    """
    turns = []
    monkeypatch.setattr(payments_sweep, "close_old_connections", lambda: turns.append(1))
    monkeypatch.setattr(payments_sweep, "send_due_reminders", lambda: {})
    monkeypatch.setattr(payments_sweep, "promises_check", lambda: {})
    return turns


def test_a_stop_signal_during_a_sweep_lets_that_sweep_finish(monkeypatch, fresh_connections):
    before = signal.getsignal(signal.SIGTERM)
    steps = []

    def sweep(stale_after=None):
        steps.append("started")
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, in this thread
        steps.append("finished")
        return {**NOTHING, "enqueued": 2}

    monkeypatch.setattr(payments_sweep, "sweep", sweep)
    # An hour between sweeps: returning at all shows the wait was never entered.
    output = run_sweeper("--every", "3600")
    assert steps == ["started", "finished"]
    assert len(fresh_connections) == 1
    assert "2 payment(s) enqueued again" in output
    assert output.rstrip().endswith("Sweeper stopped.")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_database_error_does_not_end_the_sweeper(monkeypatch, caplog, fresh_connections):
    calls = []

    def sweep(stale_after=None):
        calls.append(stale_after)
        if len(calls) == 1:
            raise OperationalError("connection to server lost; row (someone@example.org)")
        os.kill(os.getpid(), signal.SIGTERM)
        return NOTHING

    monkeypatch.setattr(payments_sweep, "sweep", sweep)
    with caplog.at_level(logging.WARNING, logger="payments.sweep"):
        output = run_sweeper("--every", "0.01", "--stale-seconds", "5")
    assert calls == [5.0, 5.0]
    assert len(fresh_connections) == 2  # a fresh connection before the turn after the error
    assert "Sweeper stopped." in output
    assert "sweep failed on the database (OperationalError)" in caplog.text
    assert "someone@example.org" not in caplog.text  # the class only, never the message


def test_a_database_error_in_the_reminders_does_not_end_the_sweeper(
    monkeypatch, caplog, fresh_connections
):
    calls = []

    def sweep(stale_after=None):
        calls.append(stale_after)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return NOTHING

    def reminders():
        raise OperationalError("connection to server lost; row (someone@example.org)")

    monkeypatch.setattr(payments_sweep, "sweep", sweep)
    monkeypatch.setattr(payments_sweep, "send_due_reminders", reminders)
    with caplog.at_level(logging.WARNING, logger="payments.sweep"):
        output = run_sweeper("--every", "0.01")
    assert len(calls) == 2  # the sweeper went on to its next turn
    assert "Sweeper stopped." in output
    assert "reminders failed (OperationalError)" in caplog.text
    assert "someone@example.org" not in caplog.text


def test_a_database_error_in_the_promise_check_does_not_end_the_sweeper(
    monkeypatch, caplog, fresh_connections
):
    calls = []

    def sweep(stale_after=None):
        calls.append(stale_after)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return NOTHING

    def check():
        raise OperationalError("connection to server lost; row (someone@example.org)")

    monkeypatch.setattr(payments_sweep, "sweep", sweep)
    monkeypatch.setattr(payments_sweep, "promises_check", check)
    with caplog.at_level(logging.WARNING, logger="payments.sweep"):
        output = run_sweeper("--every", "0.01")
    assert len(calls) == 2
    assert "Sweeper stopped." in output
    assert "promise check failed (OperationalError)" in caplog.text
    assert "someone@example.org" not in caplog.text


def test_every_must_be_above_zero():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="above 0"):
        run_sweeper("--every", "0")
