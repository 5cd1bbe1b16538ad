"""One way to run background work after the current transaction commits.

A service that changes a row and wants a worker to act on it says so in one line::

    enqueue_on_commit("payments.tasks.pay_payment", payment.pk)

The task is named by its dotted path (or given as a django-tasks ``Task``). A
path lets a service name a task whose module imports that very service, without
an import loop and without an import hidden inside a function. The task is
enqueued only once the transaction commits, so a worker never looks for rows the
request has not committed, and a rolled-back change leaves no task behind.
Outside a transaction the task is enqueued at once.

The request id of the caller (``core.request_id``) is captured when the task is
asked for and is current again when it is enqueued, so the worker that runs the
task logs under the same id (``ops.tasks_context`` stores it with the task).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks.base import Task

from core.request_id import bound_request_id, current_request_id

# A task, or the dotted path of one (which lets a service name a task whose module
# imports that very service).
TaskRef: TypeAlias = "Task[Any, Any] | str"


def resolve(task: TaskRef) -> Task[Any, Any]:
    """The ``Task`` itself, from a task or its dotted path."""
    return import_string(task) if isinstance(task, str) else task


def enqueue_on_commit(
    task: TaskRef, *args: Any, run_after: datetime | None = None, robust: bool = False
) -> None:
    """Enqueue ``task(*args)`` after commit; ``run_after`` defers it where the backend can.

    ``robust``: a failure to enqueue is logged and does not break the commit's
    other callbacks (for work a sweep or a reload would pick up anyway).
    """

    request_id = current_request_id()

    def _enqueue() -> None:
        t = resolve(task)
        if run_after is not None:
            if not getattr(t.get_backend(), "supports_defer", False):
                return  # left to the sweep, which finds what is due
            t = t.using(run_after=run_after)
        with bound_request_id(request_id):
            t.enqueue(*args)

    transaction.on_commit(_enqueue, robust=robust)


def enqueue_many_on_commit(task: TaskRef, arg_lists: Iterable[Sequence[Any]]) -> None:
    """Enqueue ``task`` once per argument list after commit, all in one transaction.

    With the database backend that is one commit for a whole batch of task rows
    rather than one per row.
    """
    arg_lists = [tuple(args) for args in arg_lists]
    if not arg_lists:
        return

    request_id = current_request_id()

    def _enqueue() -> None:
        t = resolve(task)
        with bound_request_id(request_id), transaction.atomic():
            for args in arg_lists:
                t.enqueue(*args)

    transaction.on_commit(_enqueue)
