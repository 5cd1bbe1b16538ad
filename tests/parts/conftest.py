"""The real parts a production Honora runs on, started here for each test that needs one.

``redis_server``: our own ``redis-server`` on a free port (never the shared 6379).
``s3_server``: moto's S3-compatible server (``ThreadedMotoServer``) with a private bucket.
``smtp_server``: an aiosmtpd server that keeps every message it is handed.
``run_django``: runs a script in a separate ``manage.py shell`` process against the test
database, so two real processes share (or fail to share) what the settings say.

Nothing waits a fixed time: each part is polled until it answers, within a generous limit.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, what: str, seconds: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)


@pytest.fixture
def redis_server():
    import redis

    port = free_port()
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--save", "", "--appendonly", "no"),
            *("--bind", "127.0.0.1"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port=port, process=process)

    def answers() -> bool:
        assert process.poll() is None, "redis-server exited while starting"
        try:
            return bool(server.client().ping())
        except redis.exceptions.ConnectionError:
            return False

    try:
        wait_until(answers, what=f"redis-server answering PING on {port}")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=60)


@dataclass
class S3Server:
    url: str
    # moto keeps its buckets in the process, whichever server: one new bucket per test.
    bucket: str = field(default_factory=lambda: f"honora-private-{uuid.uuid4().hex[:12]}")

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def s3_server(monkeypatch):
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = S3Server(url=f"http://127.0.0.1:{port}")

    def answers() -> bool:
        try:
            s3.client().list_buckets()
            return True
        except Exception:
            return False

    try:
        wait_until(answers, what=f"moto's S3 server on {port}")
        s3.client().create_bucket(Bucket=s3.bucket)
        yield s3
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
