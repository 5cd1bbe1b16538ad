"""core.tasks: a task named by its dotted path is enqueued once the transaction commits."""

from __future__ import annotations

import pytest
from django_tasks import default_task_backend, task

from core import tasks


@task()
def noop(value: int) -> int:
    return value


@pytest.fixture
def dummy_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    default_task_backend.clear()
    yield default_task_backend
    default_task_backend.clear()


def test_resolve_takes_a_task_or_its_dotted_path():
    assert tasks.resolve(noop) is noop
    assert tasks.resolve(f"{__name__}.noop") is noop


@pytest.mark.django_db
def test_enqueue_on_commit_waits_for_the_commit(dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_on_commit(f"{__name__}.noop", 7)
        assert dummy_backend.results == []
    [result] = dummy_backend.results
    assert result.args == [7]


@pytest.mark.django_db
def test_enqueue_many_on_commit_enqueues_once_per_argument_list(
    dummy_backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_many_on_commit(noop, [(1,), (2,)])
        tasks.enqueue_many_on_commit(noop, [])
    assert [r.args for r in dummy_backend.results] == [[1], [2]]


# --- with the database backend: task rows in the transaction, and in bulk -----------------

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def db_tasks(settings):
    from django_tasks import task_backends

    settings.TASKS = DB_TASKS
    yield
    task_backends._settings = task_backends.settings = task_backends.configure_settings(None)


def _rows():
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.order_by("args_kwargs"))


@pytest.mark.django_db(transaction=True)
def test_enqueue_with_transaction_commits_the_task_row_with_the_change(db_tasks):
    from django.db import transaction

    with transaction.atomic():
        tasks.enqueue_with_transaction(f"{__name__}.noop", 3)
        [row] = _rows()  # written in the transaction itself: one commit for both
    assert row.task_path == f"{__name__}.noop" and row.args_kwargs["args"] == [3]

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        tasks.enqueue_with_transaction(f"{__name__}.noop", 4)
        raise RolledBack
    assert [r.args_kwargs["args"] for r in _rows()] == [[3]]  # no task for what never was


@pytest.mark.django_db
def test_enqueue_with_transaction_waits_for_the_commit_with_other_backends(
    dummy_backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_with_transaction(f"{__name__}.noop", 5)
        assert dummy_backend.results == []
    [result] = dummy_backend.results
    assert result.args == [5]


@pytest.mark.django_db(transaction=True)
def test_enqueue_many_on_commit_inserts_rows_as_the_backend_does_a_chunk_at_a_time(db_tasks):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django_tasks_db.models import DBTaskResult, get_date_max

    from core.request_id import bound_request_id

    noop.enqueue(0)  # one the backend itself writes, to compare with
    request_id = "lb-request-0123456789abcdef"
    with (
        CaptureQueriesContext(connection) as ctx,
        bound_request_id(request_id),
        transaction.atomic(),
    ):
        tasks.enqueue_many_on_commit(noop, [(i,) for i in range(1, 251)], chunk=100)
        assert DBTaskResult.objects.count() == 1  # nothing before the commit
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    # 250 rows in chunks of 100: three INSERTs (SQLite caps the rows of one statement
    # lower: two per chunk), not 250.
    assert 3 <= len(inserts) <= 6
    mine = DBTaskResult.objects.exclude(args_kwargs__args=[0])
    assert mine.count() == 250
    assert DBTaskResult.objects.ready().count() == 251  # every one can be run
    reference = DBTaskResult.objects.get(args_kwargs__args=[0])
    for row in mine:
        assert row.task_path == reference.task_path
        assert row.queue_name == reference.queue_name
        assert row.priority == reference.priority
        assert row.backend_name == reference.backend_name
        assert row.status == reference.status
        assert row.run_after == get_date_max() == reference.run_after
        # The caller's request id is kept with the arguments (ops.tasks_context).
        assert row.args_kwargs["kwargs"] == {} and row.args_kwargs["request_id"] == request_id
    assert sorted(r.args_kwargs["args"][0] for r in mine) == list(range(1, 251))
    assert len({row.id for row in mine}) == 250
