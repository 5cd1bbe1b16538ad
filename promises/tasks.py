"""Background work for pay promises: the slip check, for a worker or a schedule."""

from __future__ import annotations

from django_tasks import task

from promises.services import promises_check


@task()
def check_promises() -> dict[str, int]:
    return promises_check()
