"""Background work of the engagements app."""

from __future__ import annotations

from django_tasks import task

from engagements.import_once import run_execute


@task()
def import_run(run_id: int) -> None:
    """Check, or import, a large CSV file kept for an ``ImportRun``."""
    run_execute(run_id)
