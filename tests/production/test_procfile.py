"""The Procfile names every process, and each line runs something that exists."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from django.core.management import get_commands, load_command_class

from tests.production.conftest import (
    ROOT,
    VENV_BIN,
    base_env,
    procfile,
    production_env,
    run_line,
)


def words(line: str) -> list[str]:
    argv = shlex.split(line)
    return argv[1:] if argv[0] == "exec" else argv


def test_the_procfile_names_every_process():
    assert list(procfile()) == ["release", "web", "worker", "sweep"]


@pytest.mark.parametrize("name", ["release", "worker", "sweep"])
def test_each_manage_py_line_is_a_real_command_with_arguments_it_accepts(name):
    argv = words(procfile()[name])
    assert argv[:2] == ["python", "manage.py"]
    command, args = argv[2], argv[3:]
    commands = get_commands()
    assert command in commands, command
    parser = load_command_class(commands[command], command).create_parser("manage.py", command)
    parser.parse_args(args)  # exits (SystemExit) on an argument the command does not take


def test_long_running_lines_exec_their_program_so_it_gets_sigterm_itself():
    for name in ("web", "worker", "sweep"):
        assert procfile()[name].startswith("exec "), name


def print_config(**env: str) -> dict[str, str]:
    argv = words(procfile()["web"])
    assert argv[0] == "gunicorn"
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), *argv[1:-1], "--print-config", argv[-1]],
        cwd=ROOT,
        env=base_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" = ")
        settings[key.strip()] = value.strip()
    return settings


def test_the_web_line_is_gunicorn_with_honoras_settings():
    assert words(procfile()["web"]) == [
        "gunicorn",
        "--config",
        "config/gunicorn.py",
        "config.wsgi",
    ]
    settings = print_config()
    assert settings["bind"] == "['127.0.0.1:8000']"
    assert settings["worker_class"] == "gthread"
    assert int(settings["workers"]) >= 2
    assert settings["threads"] == "4"
    assert settings["preload_app"] == "False"
    assert settings["timeout"] == "60"
    assert settings["graceful_timeout"] == "25"
    assert settings["control_socket_disable"] == "True"
    assert settings["forwarded_allow_ips"] == "['127.0.0.1', '::1']"
    # The access log: no query string (%(r)s, %(q)s), referrer, user agent or address.
    log_format = settings["access_log_format"]
    assert "%(U)s" in log_format
    for field in ("%(r)s", "%(q)s", "%(f)s", "%(a)s", "%(h)s"):
        assert field not in log_format


def test_the_web_settings_follow_the_environment():
    settings = print_config(
        PORT="5123",
        WEB_CONCURRENCY="3",
        WEB_THREADS="2",
        WEB_TIMEOUT="90",
        WEB_GRACEFUL_TIMEOUT="20",
        FORWARDED_ALLOW_IPS="10.0.0.0/8",
    )
    assert settings["bind"] == "['0.0.0.0:5123']"  # a platform's router reaches it there
    assert (settings["workers"], settings["threads"]) == ("3", "2")
    assert (settings["timeout"], settings["graceful_timeout"]) == ("90", "20")
    assert settings["forwarded_allow_ips"] == "['10.0.0.0/8']"
    assert print_config(PORT="5123", WEB_BIND="unix:/run/honora/web.sock")["bind"] == (
        "['unix:/run/honora/web.sock']"
    )


def test_a_malformed_web_setting_stops_gunicorn_naming_it():
    argv = words(procfile()["web"])
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), *argv[1:-1], "--print-config", argv[-1]],
        cwd=ROOT,
        env=base_env(WEB_THREADS="four"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "WEB_THREADS must be a whole number; got 'four'" in result.stderr


def test_release_brings_up_an_empty_database_and_may_run_again(released_database, tmp_path):
    first = released_database.output
    assert "System check identified no issues" in first, first
    assert "Applying accounts.0001_initial... OK" in first
    assert "Release done." in first
    assert "Traceback" not in first

    again = run_line(
        "release",
        production_env(
            released_database.url, tmp_path / "static", tmp_path / "var"
        ),  # the same database: a second release changes nothing
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No migrations to apply." in again.stdout
    assert "Cache table 'honora_cache' already exists." in again.stdout
    assert "Release done." in again.stdout


def test_release_stops_before_migrating_when_production_settings_are_missing(tmp_path):
    database = tmp_path / "never.sqlite3"
    result = run_line(
        "release",
        base_env(DEBUG="0", DATABASE_URL=f"sqlite:///{database}", HONORA_VAR_DIR=str(tmp_path)),
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert not database.exists()
