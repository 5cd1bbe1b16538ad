"""/readyz over HTTP from Honora under gunicorn (DEBUG=0), while its backends stop and return.

Redis (our own redis-server), the S3 server (moto) and PostgreSQL (a private cluster,
never the shared one) are each stopped: /readyz answers 503 naming the failing
check, and 200 again once the backend is back. Everything waits by polling.
"""

from __future__ import annotations

import json

import pytest

from tests.ops.servers import (
    AppServer,
    PostgresCluster,
    can_run_postgres,
    manage,
    production_env,
)
from tests.servers import RedisServer, S3Server

SECRETS_IN_ENV = ("testing", "readyz-test-secret", "127.0.0.1", "postgres://", "redis://")


def assert_nothing_secret(body: dict) -> None:
    text = json.dumps(body)
    for secret in SECRETS_IN_ENV:
        assert secret not in text, f"{secret!r} in /readyz: {text}"


@pytest.fixture(autouse=True)
def _empty_cache():
    """No test database here: the app runs in its own processes on its own database."""


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_server():
    server = S3Server()
    server.start()
    yield server
    server.stop()


def test_readyz_follows_redis_and_s3_going_away_and_coming_back(tmp_path, redis_server, s3_server):
    env = production_env(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'honora.sqlite3'}",
        REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        REDIS_TIMEOUT_SECONDS="2",
        **s3_server.env(),
    )
    manage(env, "migrate", "--no-input", "-v", "0")
    app = AppServer(env, tmp_path / "gunicorn.log")
    try:
        body = app.wait_for_readyz(200, "/readyz ok with everything up")
        assert body["status"] == "ok", body
        assert {c["status"] for c in body["checks"].values()} == {"ok"}

        redis_server.stop()
        body = app.wait_for_readyz(503, "/readyz to fail without Redis", cache="fail")
        assert body["status"] == "fail"
        assert body["checks"]["cache"]["reason"] in ("unavailable", "timeout")
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["storage"]["status"] == "ok"
        assert_nothing_secret(body)

        redis_server.start()  # same port
        body = app.wait_for_readyz(200, "/readyz ok once Redis is back", cache="ok")
        assert body["status"] == "ok"

        s3_server.stop()
        body = app.wait_for_readyz(503, "/readyz to fail without S3", storage="fail")
        assert body["checks"]["storage"]["reason"] in ("unavailable", "timeout")
        assert body["checks"]["cache"]["status"] == "ok"
        assert_nothing_secret(body)

        s3_server.start()  # a new, empty moto on the same port: the bucket is made again
        body = app.wait_for_readyz(200, "/readyz ok once S3 is back", storage="ok")
        assert body["status"] == "ok"
        # Plain HTTP with DEBUG=0: the probes are not redirected to https, other pages are.
        assert app.get("/healthz")[0] == 200
        assert app.get("/accounts/login/")[0] in (301, 302)
    finally:
        app.stop()


@pytest.fixture
def postgres():
    reason = can_run_postgres()
    if reason:
        pytest.skip(reason)
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_readyz_follows_postgresql_going_away_and_coming_back(tmp_path, postgres):
    env = production_env(tmp_path, DATABASE_URL=postgres.url, DB_CONNECT_TIMEOUT="3")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "createcachetable")
    app = AppServer(env, tmp_path / "gunicorn.log")
    try:
        body = app.wait_for_readyz(200, "/readyz ok on the private PostgreSQL")
        assert body["status"] == "ok", body

        postgres.stop()
        body = app.wait_for_readyz(503, "/readyz to fail without PostgreSQL", database="fail")
        assert body["checks"]["database"]["reason"] in ("unavailable", "timeout")
        assert body["checks"]["tasks"] == {"status": "skipped", "reason": "database"}
        assert body["checks"]["payments"] == {"status": "skipped", "reason": "database"}
        assert_nothing_secret(body)
        assert app.get("/healthz")[0] == 200  # the process itself is fine

        postgres.start()
        body = app.wait_for_readyz(200, "/readyz ok once PostgreSQL is back", database="ok")
        assert body["status"] == "ok"
    finally:
        app.stop()
