"""The id of the request (or task) being served, for logs and for tasks it starts.

``ops.middleware.RequestIdMiddleware`` sets it for each request; a worker sets it
again while it runs a task that a request enqueued (``ops.tasks_context``), so every
log line of the request and of the work it started carries the same id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# What an incoming X-Request-ID may look like to be kept (a load balancer's or
# proxy's id): short, plain characters. Anything else is replaced by a fresh id.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")

request_id_var: ContextVar[str | None] = ContextVar("honora_request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("honora_task_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_task_id() -> str | None:
    return task_id_var.get()


def is_valid_request_id(value: str | None) -> bool:
    return bool(value) and REQUEST_ID_PATTERN.fullmatch(value or "") is not None


@contextmanager
def bound_request_id(value: str | None) -> Iterator[None]:
    """Run the block with ``value`` as the current request id (unchanged if None)."""
    if value is None:
        yield
        return
    token = request_id_var.set(value)
    try:
        yield
    finally:
        request_id_var.reset(token)
