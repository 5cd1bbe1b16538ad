"""A task started by a request logs under that request's id.

When a task row is created (django-tasks-db's ``DBTaskResult``) while a request id
is current, the id is stored beside the task's arguments in ``args_kwargs``
(``{"args": [...], "kwargs": {...}, "request_id": "..."}``; django-tasks-db reads
only ``args`` and ``kwargs``). No task signature changes and no extra query: the
id goes into the same INSERT. When a worker starts the task (django-tasks'
``task_started`` signal, sent in the thread that runs it) the id and the task's own
id become current, and stop being so when it finishes. A task enqueued by that
task carries the same id on. ``core.tasks.enqueue_on_commit`` keeps the id of the
caller for the commit callback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import pre_save
from django_tasks.signals import log_task_started, task_finished, task_started

from core.request_id import (
    current_request_id,
    is_valid_request_id,
    request_id_var,
    task_id_var,
)

log = logging.getLogger("ops.tasks")

KEY = "request_id"


def stamp_request_id(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """pre_save of a new task row: keep the current request id with its arguments."""
    if raw or not instance._state.adding:
        return
    request_id = current_request_id()
    if request_id and isinstance(instance.args_kwargs, dict):
        instance.args_kwargs = {**instance.args_kwargs, KEY: request_id}


def request_id_of(task_result: Any) -> str | None:
    """The request id stored with a task, if any (database backend only)."""
    db_result = getattr(task_result, "db_result", None)
    stored = getattr(db_result, "args_kwargs", None)
    value = stored.get(KEY) if isinstance(stored, dict) else None
    return value if isinstance(value, str) and is_valid_request_id(value) else None


def task_began(sender: type, task_result: Any, **kwargs: Any) -> None:
    request_id_var.set(request_id_of(task_result))
    task_id_var.set(str(task_result.id))
    # django-tasks' own "Task ... state=RUNNING" line, now with the ids above.
    log_task_started(sender=sender, task_result=task_result)


def task_ended(sender: type, task_result: Any, **kwargs: Any) -> None:
    request_id_var.set(None)
    task_id_var.set(None)


def connect() -> None:
    from django_tasks_db.models import DBTaskResult

    pre_save.connect(stamp_request_id, sender=DBTaskResult, dispatch_uid="ops.stamp_request_id")
    # Log "started" after the ids are set (django-tasks' receiver would run first).
    task_started.disconnect(log_task_started)
    task_started.connect(task_began, dispatch_uid="ops.task_began")
    # After django-tasks' own "finished" line, which still carries the ids.
    task_finished.connect(task_ended, dispatch_uid="ops.task_ended")
