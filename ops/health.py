"""What /readyz checks, each answering in numbers and fixed words only.

Each check returns a dict with a ``status``:

- ``ok``;
- ``warn``: the process can serve, but work is piling up (old waiting tasks, stuck
  payments). /readyz answers 200 with ``"status": "degraded"``, unless
  ``READYZ_BACKLOG_FAILS`` is on;
- ``fail``: a backend the web process needs is unreachable (database, cache,
  private storage). /readyz answers 503.

A failure says only a short fixed ``reason`` (``timeout``, ``unavailable``,
``mismatch``): never an exception's text, which can carry a host name, a DSN or
data. The exception's class is logged (not its message) for the operator.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from ops.selectors import stuck_payment_counts, task_queue_state

log = logging.getLogger("ops.health")

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"
PROBE_BYTES = b"honora readiness probe\n"


def _reason(exc: BaseException) -> str:
    names = {cls.__name__.lower() for cls in type(exc).__mro__}
    if isinstance(exc, (TimeoutError, socket.timeout)) or any("timeout" in n for n in names):
        return "timeout"
    if "timeout" in str(exc).lower():
        # psycopg's "timeout expired" is an OperationalError like any other; the word
        # is kept, the text is not.
        return "timeout"
    return "unavailable"


def _timed(name: str, probe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = probe()
    except Exception as exc:
        log.warning("readiness check %s failed: %s", name, type(exc).__name__)
        result = {"status": FAIL, "reason": _reason(exc)}
    result["ms"] = round((time.monotonic() - started) * 1000)
    return result


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    if not row or row[0] != 1:
        return {"status": FAIL, "reason": "mismatch"}
    return {"status": OK}


def check_cache() -> dict[str, Any]:
    key = f"honora:readyz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    try:
        got = cache.get(key)
    finally:
        cache.delete(key)
    return {"status": OK} if got == value else {"status": FAIL, "reason": "mismatch"}


def check_storage() -> dict[str, Any]:
    name = default_storage.save(f"readyz/probe-{uuid.uuid4().hex}.txt", ContentFile(PROBE_BYTES))
    try:
        with default_storage.open(name, "rb") as handle:
            got = handle.read()
    finally:
        default_storage.delete(name)
    return {"status": OK} if got == PROBE_BYTES else {"status": FAIL, "reason": "mismatch"}


def check_tasks() -> dict[str, Any]:
    state = task_queue_state()
    limit = settings.READYZ_TASK_AGE_SECONDS
    return {
        "status": WARN if state.oldest_waiting_seconds > limit else OK,
        "waiting": state.waiting,
        "running": state.running,
        "oldest_waiting_seconds": round(state.oldest_waiting_seconds),
        "threshold_seconds": limit,
    }


def check_payments() -> dict[str, Any]:
    stuck = stuck_payment_counts()
    limit = settings.READYZ_STUCK_PAYMENTS
    return {
        "status": WARN if stuck.payments + stuck.reversals + stuck.receipts > limit else OK,
        "stuck": stuck.payments,
        "stuck_reversals": stuck.reversals,
        "stuck_receipts": stuck.receipts,
        "threshold": limit,
        "stuck_after_seconds": settings.PAYMENTS_SWEEP_AFTER_SECONDS,
    }


def readiness() -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of /readyz."""
    checks: dict[str, dict[str, Any]] = {"database": _timed("database", check_database)}
    database_up = checks["database"]["status"] == OK
    checks["cache"] = _timed("cache", check_cache)
    checks["storage"] = _timed("storage", check_storage)
    for name, probe in (("tasks", check_tasks), ("payments", check_payments)):
        if database_up:
            checks[name] = _timed(name, probe)
        else:
            checks[name] = {"status": SKIPPED, "reason": "database"}
    statuses = {c["status"] for c in checks.values()}
    backlog_fails = settings.READYZ_BACKLOG_FAILS
    if FAIL in statuses or (WARN in statuses and backlog_fails):
        overall, code = "fail", 503
    elif WARN in statuses:
        overall, code = "degraded", 200
    else:
        overall, code = "ok", 200
    return code, {"status": overall, "checks": checks}
