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

from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.models.signals import pre_save
from django.utils.module_loading import import_string
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import normalize_json, task_enqueued

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


def enqueue_with_transaction(task: TaskRef, *args: Any) -> None:
    """Enqueue ``task(*args)`` so that it exists once the current transaction commits,
    and never if it rolls back.

    With the database backend (django-tasks-db, on the same database) the task row is
    inserted now, inside the transaction: it commits with the change that asks for it
    (one commit instead of two) and no worker can die between that change and its task.
    Any other backend enqueues after commit (``enqueue_on_commit``).
    """
    t = resolve(task)
    if _database_backend(t) is not None:
        t.enqueue(*args)
    else:
        enqueue_on_commit(task, *args)


# Task rows per INSERT (and per commit) when many are enqueued at once: a worker can
# start on the first rows while the rest are still being written.
ENQUEUE_CHUNK = 100


def enqueue_many_on_commit(
    task: TaskRef, arg_lists: Iterable[Sequence[Any]], *, chunk: int = ENQUEUE_CHUNK
) -> None:
    """Enqueue ``task`` once per argument list after commit, ``chunk`` at a time.

    With the database backend each chunk is one INSERT of its task rows, committed
    on its own, so workers start paying while later chunks are written (rather than
    one INSERT per row, all in one transaction that kept every worker idle until the
    last row). Other backends enqueue one by one, a chunk per transaction.
    """
    arg_lists = [tuple(args) for args in arg_lists]
    if not arg_lists:
        return

    request_id = current_request_id()

    def _enqueue() -> None:
        t = resolve(task)
        backend = _database_backend(t)
        with bound_request_id(request_id):
            for start in range(0, len(arg_lists), chunk):
                part = arg_lists[start : start + chunk]
                if backend is not None:
                    _insert_task_rows(backend, t, part)
                else:
                    with transaction.atomic():
                        for args in part:
                            t.enqueue(*args)

    transaction.on_commit(_enqueue)


def _database_backend(t: Any) -> DatabaseBackend | None:
    """``t``'s backend when it stores tasks in this database (django-tasks-db)."""
    get_backend = getattr(t, "get_backend", None)
    backend = get_backend() if get_backend is not None else None
    if not isinstance(backend, DatabaseBackend):
        return None
    from django_tasks_db.models import DBTaskResult

    if router.db_for_write(DBTaskResult) != DEFAULT_DB_ALIAS:
        return None
    return backend


def _insert_task_rows(backend: Any, t: Any, arg_lists: Sequence[Sequence[Any]]) -> None:
    """What ``backend.enqueue`` writes for each argument list, in one INSERT.

    The rows are built as django-tasks-db builds one, and its ``pre_save`` receivers
    (the far-future ``run_after`` of a task that does not wait, the request id in
    ``ops.tasks_context``) and django-tasks' ``task_enqueued`` signal run for each.
    """
    from django_tasks_db.models import DBTaskResult

    backend.validate_task(t)
    rows: list[Any] = [
        DBTaskResult(
            id=backend._get_id(),
            args_kwargs=normalize_json({"args": tuple(args), "kwargs": {}}),
            priority=t.priority,
            task_path=t.module_path,
            queue_name=t.queue_name,
            run_after=t.run_after,
            backend_name=backend.alias,
        )
        for args in arg_lists
    ]
    for row in rows:
        pre_save.send(
            sender=DBTaskResult, instance=row, raw=False, using=DEFAULT_DB_ALIAS, update_fields=None
        )
    with transaction.atomic():
        DBTaskResult.objects.bulk_create(rows)
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)
