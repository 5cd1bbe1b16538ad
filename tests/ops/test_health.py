"""/healthz and /readyz in process: shapes, statuses, thresholds, and nothing secret."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ops import health

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_ok_with_every_check_and_is_never_cached(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "storage", "tasks", "payments"}
    assert {c["status"] for c in body["checks"].values()} == {"ok"}
    assert body["checks"]["tasks"] == {
        "status": "ok",
        "waiting": 0,
        "running": 0,
        "oldest_waiting_seconds": 0,
        "threshold_seconds": 600,
        "ms": body["checks"]["tasks"]["ms"],
    }
    assert "no-store" in response["Cache-Control"]


def test_readyz_leaves_no_probe_file_behind(client, settings):
    assert client.get("/readyz").status_code == 200
    root = settings.MEDIA_ROOT
    assert not any(p.is_file() for p in root.rglob("*")) if root.exists() else True


def test_post_is_refused(client):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405


def test_a_cache_that_does_not_answer_fails_readyz_with_a_fixed_reason(client, settings):
    port = closed_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:hunter2-secret@127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["cache"]["status"] == "fail"
    assert body["checks"]["cache"]["reason"] in {"unavailable", "timeout"}
    assert body["checks"]["database"]["status"] == "ok"
    text = response.content.decode()
    # No host, port, password or exception text in the answer.
    for secret in ("127.0.0.1", str(port), "hunter2", "redis://", "Error", "refused"):
        assert secret not in text


def test_storage_that_does_not_answer_fails_readyz(client, settings):
    port = closed_port()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage.EncryptedStorage",
            "OPTIONS": {
                "backend": "storages.backends.s3.S3Storage",
                "options": {
                    "bucket_name": "honora-private",
                    "endpoint_url": f"http://127.0.0.1:{port}",
                    "access_key": "AKIAEXAMPLE",
                    "secret_key": "s3-secret-value",
                    "region_name": "us-east-1",
                },
            },
        },
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["storage"]["status"] == "fail"
    text = response.content.decode()
    for secret in ("127.0.0.1", str(port), "s3-secret-value", "AKIAEXAMPLE", "honora-private"):
        assert secret not in text


def old_task(seconds: float) -> DBTaskResult:
    from django_tasks_db.models import get_date_max

    row = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="payments.tasks.pay_payment",
        backend_name="default",
        run_after=get_date_max(),
    )
    # enqueued_at is auto_now_add: age it by hand.
    DBTaskResult.objects.filter(pk=row.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=seconds)
    )
    return row


def test_an_old_waiting_task_makes_readyz_degraded_not_unavailable(client, settings):
    settings.READYZ_TASK_AGE_SECONDS = 60
    old_task(3600)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    tasks = body["checks"]["tasks"]
    assert tasks["status"] == "warn" and tasks["waiting"] == 1
    assert 3600 <= tasks["oldest_waiting_seconds"] < 3600 + 600
    assert tasks["threshold_seconds"] == 60


def test_backlog_fails_readyz_when_the_operator_says_so(client, settings):
    settings.READYZ_TASK_AGE_SECONDS = 60
    settings.READYZ_BACKLOG_FAILS = True
    old_task(3600)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"


def test_a_deferred_task_waits_from_when_it_became_due(settings):
    from ops.selectors import task_queue_state

    now = timezone.now()
    row = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="payments.tasks.pay_payment",
        backend_name="default",
        run_after=now - timedelta(seconds=120),
    )
    DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=now - timedelta(days=2))
    DBTaskResult.objects.create(  # not due yet: not waiting
        args_kwargs={"args": [], "kwargs": {}},
        task_path="payments.tasks.pay_payment",
        backend_name="default",
        run_after=now + timedelta(hours=1),
    )
    state = task_queue_state(now=now)
    assert state.waiting == 1
    assert state.oldest_waiting_seconds == pytest.approx(120, abs=1)


def test_stuck_payments_use_the_sweepers_rule(client, settings, monkeypatch):
    from payments.stripe import engine

    calls = []

    def stuck(*, stale_after=None):
        calls.append(stale_after)
        return [11, 12]

    monkeypatch.setattr(engine, "stuck_payments", stuck)
    monkeypatch.setattr("ops.selectors.stuck_payments", stuck)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["payments"]["stuck"] == 2
    assert body["checks"]["payments"]["status"] == "warn"
    assert calls == [None]  # the sweeper's own default: PAYMENTS_SWEEP_AFTER_SECONDS
    settings.READYZ_STUCK_PAYMENTS = 2
    assert client.get("/readyz").json()["checks"]["payments"]["status"] == "ok"


def test_a_failing_database_skips_the_queue_checks(monkeypatch):
    def broken():
        raise OSError("could not connect to server at db.internal:5432 password=xyz")

    monkeypatch.setattr(health, "check_database", broken)
    status, body = health.readiness()
    assert status == 503
    assert body["checks"]["database"] == {
        "status": "fail",
        "reason": "unavailable",
        "ms": body["checks"]["database"]["ms"],
    }
    assert body["checks"]["tasks"] == {"status": "skipped", "reason": "database"}
    assert "db.internal" not in json.dumps(body) and "xyz" not in json.dumps(body)


def test_timeouts_are_called_timeouts():
    assert health._reason(TimeoutError()) == "timeout"
    assert health._reason(TimeoutError()) == "timeout"

    class ConnectTimeoutError(Exception):
        pass

    assert health._reason(ConnectTimeoutError("host s3.internal")) == "timeout"
    assert health._reason(OSError("timeout expired")) == "timeout"
    assert health._reason(ConnectionRefusedError("no")) == "unavailable"


def test_health_urls_are_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = ["^healthz$", "^readyz$", "^metrics$"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_production_settings_exempt_the_health_urls():
    from django.conf import settings

    assert {"^healthz$", "^readyz$"} <= set(settings.SECURE_REDIRECT_EXEMPT)
