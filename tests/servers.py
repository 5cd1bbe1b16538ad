"""Real servers a test starts on a free port: our own ``redis-server`` and moto's S3.

Used by the fixtures in ``tests/parts/conftest.py`` and by the /readyz tests in
``tests/ops/``. Each ``start()`` polls until the server answers and each ``stop()`` until
its port is closed (``tests.processes.wait_until``); nothing waits a fixed time.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid

from tests.processes import free_port, listening, wait_until

READY_SECONDS = 120


class RedisServer:
    """``redis-server`` without persistence, bound to 127.0.0.1; never the shared 6379."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(
            self._pong,
            seconds=READY_SECONDS,
            what=f"redis-server answering PING on {self.port}",
            still_running=lambda: self.process is not None and self.process.poll() is None,
        )
        return self

    def _pong(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        wait_until(
            lambda: not listening(self.port),
            seconds=READY_SECONDS,
            what="redis-server to stop listening",
        )


class S3Server:
    """moto's S3 in server mode with one private bucket of its own.

    moto keeps buckets in the process, whichever server answers: each instance names a
    new bucket, so two tests (or a restarted server) never see each other's files.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bucket = f"honora-private-{uuid.uuid4().hex[:12]}"
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def start(self) -> S3Server:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_until(self._answers, seconds=READY_SECONDS, what=f"moto's S3 server on {self.port}")
        client = self.client()
        # Restarted in the same process, moto kept the bucket: that is fine.
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=self.bucket)
        return self

    def _answers(self) -> bool:
        try:
            self.client().list_buckets()
            return True
        except Exception:
            return False

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        wait_until(
            lambda: not listening(self.port), seconds=READY_SECONDS, what="moto to stop listening"
        )

    def env(self) -> dict[str, str]:
        """The settings that point Honora's private storage at this server."""
        return {
            "STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_CONNECT_TIMEOUT": "2",
            "AWS_S3_READ_TIMEOUT": "5",
        }
