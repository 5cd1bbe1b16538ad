"""Real processes for the /readyz tests: the app under gunicorn and a private PostgreSQL
(Redis and moto's S3 come from ``tests/servers.py``).

Every wait polls for a state with a generous deadline; nothing sleeps a fixed time
to let something happen.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tests.processes import free_port, listening, wait_until

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120.0
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "readyz-test-secret-key-" + "abcdefghijklmnopqrstuvwxyz0123456789",
            "FIELD_ENCRYPTION_KEY": "readyz-test-field-encryption-key-0123456789abcdef",
            "ALLOWED_HOSTS": "127.0.0.1",
            "STRIPE_SECRET_KEY": "",
            "HONORA_VAR_DIR": str(tmp / "var"),
            "PRIVATE_MEDIA_ROOT": str(tmp / "private"),
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stderr[-3000:]}"


class _Refuse(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_NO_REDIRECTS = urllib.request.build_opener(_Refuse)


class AppServer:
    """Honora under gunicorn, one worker, as in production (DEBUG=0, plain HTTP)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._healthy, seconds=DEADLINE, what="gunicorn to answer /healthz")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def get(self, path: str) -> tuple[int, bytes]:
        """Status and body, without following redirects."""
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with _NO_REDIRECTS.open(url, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def readyz(self) -> tuple[int, dict]:
        import json

        status, body = self.get("/readyz")
        return status, json.loads(body)

    def wait_for_readyz(self, status: int, what: str, **check_statuses: str) -> dict:
        def matches() -> dict | None:
            code, body = self.readyz()
            ok = code == status and all(
                body["checks"][name]["status"] == want for name, want in check_statuses.items()
            )
            return body if ok else None

        return wait_until(matches, seconds=DEADLINE, what=what)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=60)
        self._out.close()


def can_run_postgres() -> str | None:
    """Why a private PostgreSQL cluster cannot run here, or None when it can."""
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL 15 binaries in {PG_BIN}"
    if os.geteuid() != 0:
        return "a private PostgreSQL cluster is started as root (runuser -u postgres)"
    if shutil.which("runuser") is None:
        return "runuser is missing"
    return None


class PostgresCluster:
    """A private PostgreSQL cluster on its own port and socket directory; never the shared one."""

    def __init__(self) -> None:
        import pwd

        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="honora-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"
        )

    def _as_postgres(self, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{args[0]}: {done.stdout[-2000:]} {done.stderr[-2000:]}"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "120",
            "start",
        )
        wait_until(lambda: listening(self.port), seconds=DEADLINE, what="PostgreSQL to listen")

    def stop(self) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop"
        )
        wait_until(
            lambda: not listening(self.port), seconds=DEADLINE, what="PostgreSQL to stop listening"
        )

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
