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
