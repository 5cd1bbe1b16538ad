"""What the bench scripts share: free ports, child processes, waiting, the Stripe sandbox, workers.

Nothing here waits a fixed time for something to happen: every wait polls for the
thing itself with a generous deadline, so a busy machine is slower, never wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")

# Generous: starting Django (or gunicorn, moto) in a fresh process on a busy 2-core
# machine can take many seconds.
START_SECONDS = 180.0
STOP_SECONDS = 60.0


class BenchFailure(Exception):
    """Something the bench proves did not hold, or a process it needs did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    what: str,
    check: Callable[[], object],
    *,
    seconds: float = START_SECONDS,
    alive: Callable[[], bool] = lambda: True,
    every: float = 0.2,
):
    """Poll ``check()`` until it returns something true (returned), or fail with ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except Exception:  # not up yet: refused connection, not migrated, ...
            result = None
        if result:
            return result
        if not alive():
            raise BenchFailure(f"{what}: the process exited")
        if time.monotonic() > deadline:
            raise BenchFailure(f"{what}: not within {seconds:.0f} s")
        time.sleep(every)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- PostgreSQL ---------------------------------------------------------------------------


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def create_fresh_database(name: str) -> None:
    drop_database(name)
    ensure_database(name)


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- child processes ----------------------------------------------------------------------


class Processes:
    """Child processes by name, each the leader of its own process group, output to a file.

    ``stop()`` sends every group SIGTERM, waits (a worker finishes its task), then
    SIGKILLs whatever is left; it is safe to call more than once.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen, Path]] = []
        self.oneshots: list[tuple[str, subprocess.Popen, Path]] = []

    def start(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> subprocess.Popen:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the bench only; it stops them
            )
        self.started.append((name, process, log))
        return process

    def run(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> int:
        """Run a one-off command (a release step) to its end; its exit code."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            self.oneshots.append((name, process, log))
            return process.wait()

    def log_of(self, name: str) -> str:
        for started, _process, log in self.started:
            if started == name:
                return log.read_text(errors="replace")
        return ""

    def exited(self, *, ignore: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
        return [
            f"{name} (exit {p.returncode})"
            for name, p, _log in self.started
            if p.pid not in ignore and p.poll() is not None
        ]

    def tails(self, lines: int = 15) -> str:
        parts = []
        for name, _process, log in [*self.oneshots, *self.started]:
            text = log.read_text(errors="replace").strip().splitlines()[-lines:]
            if text:
                parts.append(f"--- {name} ({log}) ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        for _name, process, _log in self.oneshots:  # interrupted while one ran
            if process.poll() is None:
                signal_group(process, signal.SIGKILL)
        for _name, process, _log in self.started:
            if process.poll() is None:
                signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _name, process, _log in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for _name, process, _log in self.started:
            if process.poll() is None:
                signal_group(process, signal.SIGKILL)
            process.wait()


def signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


# --- the local Stripe sandbox (its own process: Stripe is its own service) -----------------


def sandbox_argv(
    port: int,
    *,
    latency_ms: int = 0,
    rate_limit: int | None = None,
    balance: int = 10**12,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "stripe_sandbox",
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
        # Stripe's test mode starts at zero: the bench funds the platform, as a study's
        # bank top-ups do (bank_account money, what Honora's transfers draw from).
        "--balance",
        str(balance),
        "--balance-source-type",
        "bank_account",
    ]
    if rate_limit:
        argv += ["--rate-limit", str(rate_limit)]
    if webhook_url:
        argv += ["--webhook-url", webhook_url]
    if webhook_secret:
        argv += ["--webhook-secret", webhook_secret]
    return argv


def sandbox_control(port: int, *, alive: Callable[[], bool] = lambda: True):
    """The sandbox's control API once it answers; ``url_base`` is its API's address."""
    from stripe_sandbox import SandboxControl

    url = f"http://127.0.0.1:{port}"
    control = SandboxControl(url)
    wait_for(f"the Stripe sandbox on {url}", control.health, alive=alive)
    control.url_base = url
    return control


def start_sandbox(*, latency_ms: int = 0, rate_limit: int | None = None):
    """Start the sandbox on a free port (output discarded); ``(process, control)``."""
    port = free_port()
    process = subprocess.Popen(
        sandbox_argv(port, latency_ms=latency_ms, rate_limit=rate_limit),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return process, sandbox_control(port, alive=lambda: process.poll() is None)


# --- task workers -------------------------------------------------------------------------


def worker_argv(name: str, *, interval: float = 0.05, verbosity: int = 0) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "db_worker",
        "--interval",
        str(interval),
        "--no-startup-delay",
        "--no-reload",
        "--worker-id",
        name,
        "--verbosity",
        str(verbosity),
    ]


def start_worker(env: dict, name: str, interval: float) -> subprocess.Popen:
    return subprocess.Popen(
        worker_argv(name, interval=interval), cwd=ROOT, env={**os.environ, **env}
    )
