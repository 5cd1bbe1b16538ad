"""Honora's production processes, for real: the Procfile's lines run under /bin/sh with
``DEBUG=0``, against a database of their own and static files collected as the build
step does it.

The database is SQLite (a file) on the README's ``uv run pytest``, and a PostgreSQL
database of these tests' own when the run's ``DATABASE_URL`` is PostgreSQL. It is
brought up once per test process by the Procfile's ``release`` line; each test gets a
copy. Static files are collected once per test run (shared by the xdist workers).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.processes import START_SECONDS, alive, descendants_of, group_alive

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

SECRET_KEY = "prod-test-" + "Zq4-pL7_wX2mN8vB3cR6tY1uH5jD0sF" * 2
FIELD_ENCRYPTION_KEY = "prod-test-field-encryption-secret-0123456789"
# A TLS proxy in front, as in production: it says the request came over https.
HTTPS = {"X-Forwarded-Proto": "https"}


def procfile() -> dict[str, str]:
    """The Procfile's processes, read as honcho (and Heroku-like platforms) read it."""
    from honcho.environ import parse_procfile

    return dict(parse_procfile((ROOT / "Procfile").read_text()).processes)


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment: nothing from the caller's shell reaches Honora's settings."""
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def production_env(database_url: str, static_root: Path, var_dir: Path, **extra: str):
    return base_env(
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_TLS_PROXY="1",
        DATABASE_URL=database_url,
        STATIC_ROOT=str(static_root),
        HONORA_VAR_DIR=str(var_dir),
        **extra,
    )


def run_line(name: str, env: dict[str, str], timeout: float = START_SECONDS):
    """Run the Procfile's ``name`` line to its end, as honcho would: under /bin/sh."""
    return subprocess.run(
        ["/bin/sh", "-c", procfile()[name]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manage(env: dict[str, str], *args: str, timeout: float = START_SECONDS):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Running:
    """A Procfile line (or any command) running in a session of its own, output to a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid

    @classmethod
    def line(cls, name: str, env: dict[str, str], log_path: Path) -> Running:
        return cls(["/bin/sh", "-c", procfile()[name]], env, log_path)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self) -> str:
        return self.output()[-4000:]

    def running(self) -> bool:
        return self.process.poll() is None

    def says(self, text: str) -> bool:
        return text in self.output()

    def close(self) -> None:
        """Whatever is left of it (after a failed test): killed, with its children."""
        leftovers = descendants_of(self.pid) if alive(self.pid) else []
        if group_alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=60)
        self._log.close()


@pytest.fixture
def started(tmp_path):
    """Start processes with ``started(argv_or_line_name, env)``; all are cleaned up after."""
    runs: list[Running] = []

    def start(what: str | list[str], env: dict[str, str]) -> Running:
        log_path = tmp_path / f"process-{len(runs)}.log"
        run = (
            Running.line(what, env, log_path)
            if isinstance(what, str)
            else Running(what, env, log_path)
        )
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


# --- the database -------------------------------------------------------------------


def _postgres() -> tuple[str, str] | None:
    """(URL of the maintenance database, base name) when the run is on PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return parts._replace(path="/postgres").geturl(), parts.path.lstrip("/") or "honora"


def _pg(sql: str) -> None:
    import psycopg

    admin_url, _ = _postgres()  # type: ignore[misc]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _pg_url(name: str) -> str:
    admin_url, _ = _postgres()  # type: ignore[misc]
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


@dataclass
class Released:
    url: str
    output: str
    name: str  # the PostgreSQL database's name, or the SQLite file


@pytest.fixture(scope="session")
def released_database(tmp_path_factory):
    """An empty database brought up by the Procfile's ``release`` line (once per process)."""
    workdir = tmp_path_factory.mktemp("released")
    pg = _postgres()
    if pg:
        name = f"{pg[1]}_prod_{secrets.token_hex(4)}"
        _pg(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        name = str(workdir / "released.sqlite3")
        url = f"sqlite:///{name}"
    try:
        env = production_env(url, workdir / "static", workdir / "var")
        result = run_line("release", env, timeout=START_SECONDS * 2)
        assert result.returncode == 0, result.stdout + result.stderr
        yield Released(url=url, output=result.stdout + result.stderr, name=name)
    finally:
        if pg:
            _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def copy_database(released_database):
    """``copy_database(directory)``: a fresh copy of the released database, as a URL."""
    made: list[str] = []

    def copy(directory: Path) -> str:
        if _postgres():
            name = f"{released_database.name}_{secrets.token_hex(3)}"
            _pg(f'CREATE DATABASE "{name}" TEMPLATE "{released_database.name}"')
            made.append(name)
            return _pg_url(name)
        target = directory / "honora.sqlite3"
        with (
            contextlib.closing(sqlite3.connect(released_database.name)) as source,
            contextlib.closing(sqlite3.connect(target)) as copy_to,
        ):
            source.backup(copy_to)
        return f"sqlite:///{target}"

    yield copy
    for name in made:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(copy_database, tmp_path):
    return copy_database(tmp_path)


# --- static files, collected as the build step does it ---------------------------------


def collect_static(static_root: Path) -> str:
    """The build step from the README: no secrets needed, hashed and compressed files."""
    env = base_env(STATIC_FILES_HASHED="1", STATIC_ROOT=str(static_root))
    return manage(env, "collectstatic", "--noinput", timeout=START_SECONDS * 2)


@pytest.fixture(scope="session")
def static_root(tmp_path_factory, worker_id):
    """Collected once per test run; the xdist workers take turns and share the result."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    root = shared / "collected-static"
    with (shared / "collected-static.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (root / "staticfiles.json").exists():
                output = collect_static(root)
                assert "post-processed" in output, output
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root
