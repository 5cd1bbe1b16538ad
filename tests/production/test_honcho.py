"""The Procfile on one machine, as the README says: ``honcho start web worker sweep``.

Settings come from an env file, as they would from ``.env``; the web page answers; a
stop signal to honcho alone stops every process it started and frees the port.
"""

from __future__ import annotations

import shlex
import signal

import pytest

from tests.processes import (
    STOP_SECONDS,
    alive,
    answers,
    descendants_of,
    free_port,
    listening,
    wait_until,
)
from tests.production.conftest import HTTPS, ROOT, VENV_BIN, base_env, production_env


def write_env_file(path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items()))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_honcho_runs_the_procfile_and_a_stop_signal_stops_every_process(
    tmp_path, database_url, static_root, started, sig
):
    port = free_port()
    settings = production_env(database_url, static_root, tmp_path / "var")
    env_file = tmp_path / "honora.env"
    write_env_file(env_file, {k: v for k, v in settings.items() if k not in ("PATH", "HOME")})
    honcho = started(
        [
            str(VENV_BIN / "honcho"),
            "start",
            "--no-colour",
            "--env",
            str(env_file),
            "--port",
            str(port),
            "--concurrency",
            "worker=2",
            "web",
            "worker",
            "sweep",
        ],
        base_env(),  # nothing but the env file says how Honora is configured
    )

    def everything_up() -> bool:
        output = honcho.output()
        return (
            output.count("Starting worker") == 2
            and "Sweeping every 60 seconds." in output
            and answers(f"http://127.0.0.1:{port}/accounts/login/", HTTPS)
        )

    wait_until(
        everything_up,
        what="web, two workers and the sweeper",
        still_running=honcho.running,
        details=honcho.tail,
    )
    processes = descendants_of(honcho.pid)
    # honcho's helpers, gunicorn (a master and its workers), two workers, the sweeper.
    assert len(processes) >= 6, processes

    honcho.process.send_signal(sig)  # to honcho alone: it passes it on
    honcho.process.wait(timeout=STOP_SECONDS)
    wait_until(
        lambda: not [pid for pid in processes if alive(pid)],
        seconds=STOP_SECONDS,
        what="every process honcho started to stop",
        details=honcho.tail,
    )
    assert not listening(port)
    output = honcho.output()
    assert f"{signal.Signals(sig).name} received" in output
    for name in ("web.1", "worker.1", "worker.2", "sweep.1"):
        assert f"{name} stopped" in output, name
    assert "Traceback" not in output


def test_the_procfile_sits_where_honcho_looks_for_it():
    # `uv run honcho start` from the repository's root finds it without -f.
    assert (ROOT / "Procfile").is_file()
