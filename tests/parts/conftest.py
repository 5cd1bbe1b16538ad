"""The real parts a production Honora runs on, started here for each test that needs one.

``redis_server``: our own ``redis-server`` on a free port (never the shared 6379).
``s3_server``: moto's S3-compatible server (``ThreadedMotoServer``) with a private bucket.
(Both are ``tests/servers.py``'s, which the /readyz tests use too.)
``smtp_server``: an aiosmtpd server that keeps every message it is handed.
``run_django``: runs a script in a separate ``manage.py shell`` process against the test
database, so two real processes share (or fail to share) what the settings say.

Nothing waits a fixed time: each part is polled until it answers, within a generous limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import free_port
from tests.servers import RedisServer, S3Server

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 90

__all__ = ["ROOT", "RedisServer", "S3Server", "database_url", "free_port"]


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_server(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class SmtpServer:
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    port = free_port()
    handler = SmtpServer(port=port)
    # Controller.start() returns once the server answers (it connects to itself first).
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=READY_SECONDS)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def run_django(tmp_path):
    """Run ``script`` in a new ``manage.py shell`` process; return its last line, as JSON."""

    def run(script: str, **env: str) -> object:
        full_env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": database_url(),
            "HONORA_VAR_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "WARNING",
            **env,
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run
