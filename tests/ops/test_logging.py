"""Request ids on every log line, carried into the tasks a request starts; JSON lines.

The end-to-end tests post a real request that enqueues a task (a consultant asks for
this year's statement), then run that task with django-tasks-db's own worker: in
process (any database), and as a real ``manage.py db_worker`` process on PostgreSQL
whose JSON lines are read back.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.request_id import bound_request_id, current_request_id
from ops.logging import RequestIdFilter
from tests.conftest import requires_postgres

ROOT = Path(__file__).resolve().parents[2]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
REQUEST_ID = "lb-request-0123456789abcdef"


@pytest.fixture
def db_tasks(settings):
    from django_tasks import task_backends

    settings.TASKS = DB_TASKS
    yield
    task_backends._settings = task_backends.settings = task_backends.configure_settings(None)


@pytest.fixture
def records(caplog):
    """Every record at DEBUG and up, with the request id filter the console handler has."""
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        (REQUEST_ID, True),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("short", False),
        ("x" * 65, False),
        ("id with spaces 12345", False),
        ('"><script>alert(1)</script>', False),
        ("person@example.org-12345", False),
    ],
)
def test_an_offered_request_id_is_kept_only_when_it_looks_like_one(client, offered, kept):
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    returned = response["X-Request-ID"]
    if kept:
        assert returned == offered
    else:
        assert returned != offered and len(returned) == 32 and int(returned, 16) >= 0


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id_and_nothing_leaks_after(client, records):
    response = client.get("/no-such-page/", headers={"X-Request-ID": REQUEST_ID})
    assert response.status_code == 404
    [line] = [r for r in records.records if r.name == "django.request"]
    assert line.request_id == REQUEST_ID  # logged after the middlewares returned
    assert current_request_id() is None  # cleared when the response was closed


def test_json_lines_when_log_format_is_json(tmp_path):
    env = {
        **os.environ,
        "LOG_FORMAT": "json",
        "HONORA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    script = (
        "import logging\n"
        "from core.request_id import bound_request_id\n"
        "with bound_request_id('abcdef0123456789'):\n"
        "    logging.getLogger('payments').warning('payment %s: held', 'pub-1')\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    assert line["message"] == "payment pub-1: held"
    assert line["level"] == "WARNING" and line["logger"] == "payments"
    assert line["request_id"] == "abcdef0123456789" and line["task_id"] == "-"
    assert line["time"].endswith("+00:00")


def test_json_is_the_default_without_debug_and_plain_with_it():
    script = "from django.conf import settings; print(settings.LOG_FORMAT)"
    base = {**os.environ}
    base.pop("LOG_FORMAT", None)
    production = {
        **base,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 30 + "abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEY": "a-production-field-key-for-this-test-only-0123456789",
        "ALLOWED_HOSTS": "honora.example.org",
        "STRIPE_SECRET_KEY": "",
    }
    for env, expected in ((production, "json"), ({**base, "DEBUG": "1"}, "plain")):
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stdout.strip() == expected, done.stderr


def ask_for_a_statement(client, consultant) -> DBTaskResult:
    client.force_login(consultant.user)
    response = client.post(
        reverse("portal:statement_prepare"),
        {"year": timezone.localdate().year},
        headers={"X-Request-ID": REQUEST_ID},
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == REQUEST_ID
    [row] = DBTaskResult.objects.all()
    assert row.task_path == "payments.documents.tasks.generate_statement"
    return row


@pytest.mark.django_db(transaction=True)
def test_a_task_started_by_a_request_logs_under_its_id(client, consultant, db_tasks, records):
    from django_tasks_db.management.commands.db_worker import Worker

    row = ask_for_a_statement(client, consultant)
    assert row.args_kwargs["request_id"] == REQUEST_ID
    # The task's own arguments are untouched.
    assert row.task_result.args == [consultant.pk, timezone.localdate().year, consultant.user.pk]
    records.clear()

    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="in-process",
        excluded_queue_names=[],
    ).run()

    row.refresh_from_db()
    assert row.status == "SUCCESSFUL", row.traceback
    task_lines = [r for r in records.records if r.task_id == str(row.pk)]
    messages = [r.getMessage() for r in task_lines]
    assert any("state=RUNNING" in m for m in messages), messages
    assert any("state=SUCCESSFUL" in m for m in messages), messages
    assert {r.request_id for r in task_lines} == {REQUEST_ID}
    assert current_request_id() is None  # the worker forgot it after the task


@pytest.mark.django_db
def test_tasks_enqueued_outside_a_request_carry_no_id(db_tasks):
    from payments.documents.tasks import generate_statement

    generate_statement.enqueue(1, 2026, None)
    assert "request_id" not in DBTaskResult.objects.get().args_kwargs
    with bound_request_id("abcdefgh12345678"):
        generate_statement.enqueue(1, 2026, None)
    assert DBTaskResult.objects.filter(args_kwargs__request_id="abcdefgh12345678").count() == 1


@pytest.mark.django_db
def test_enqueue_on_commit_carries_the_callers_id(db_tasks, django_capture_on_commit_callbacks):
    from core.tasks import enqueue_many_on_commit, enqueue_on_commit

    with django_capture_on_commit_callbacks() as callbacks, bound_request_id(REQUEST_ID):
        enqueue_on_commit("payments.documents.tasks.generate_statement", 1, 2026, None)
        enqueue_many_on_commit("payments.documents.tasks.generate_statement", [(2, 2026, None)])
    # The callbacks run where no request id is current any more: they bring their own.
    assert current_request_id() is None
    for callback in callbacks:
        callback()
    assert [r.args_kwargs["request_id"] for r in DBTaskResult.objects.all()] == [REQUEST_ID] * 2


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_db_worker_logs_the_request_id_in_json(client, consultant, db_tasks):
    row = ask_for_a_statement(client, consultant)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "LOG_FORMAT": "json",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            "--worker-id",
            "real-worker",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in (done.stdout + done.stderr).splitlines() if x.startswith("{")]
    task_lines = [x for x in lines if x["task_id"] == str(row.pk)]
    assert any("state=RUNNING" in x["message"] for x in task_lines), lines
    assert any("state=SUCCESSFUL" in x["message"] for x in task_lines), lines
    assert {x["request_id"] for x in task_lines} == {REQUEST_ID}
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
