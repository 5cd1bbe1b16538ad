"""The systemd units in deploy/systemd and .env.example say what the Procfile says."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess

import pytest
from honcho.environ import parse as parse_env_file

from tests.production.conftest import ROOT, base_env, manage, procfile

UNITS = ROOT / "deploy" / "systemd"
INSTALLED_AT = "/srv/honora"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


def procfile_argv(name: str) -> list[str]:
    argv = shlex.split(procfile()[name])
    return argv[1:] if argv[0] == "exec" else argv


@pytest.mark.parametrize(
    ("unit_name", "process"),
    [
        ("honora-release.service", "release"),
        ("honora-web.service", "web"),
        ("honora-worker@.service", "worker"),
        ("honora-sweep.service", "sweep"),
    ],
)
def test_each_unit_runs_its_procfile_line(unit_name, process):
    service = unit(unit_name)["Service"]
    argv = shlex.split(service["ExecStart"])
    expected = procfile_argv(process)
    program = expected[0] if expected[0] != "python" else "python"
    assert argv[0] == f"{INSTALLED_AT}/.venv/bin/{program}"
    if process == "worker":
        # systemd names the worker itself (host and instance) where the Procfile uses sh.
        assert argv[1:-1] == expected[1:-1]
        assert argv[-1] == "%H-worker-%i"
    else:
        assert argv[1:] == expected[1:]
    assert service["WorkingDirectory"] == INSTALLED_AT
    assert service["EnvironmentFile"] == "/etc/honora/honora.env"
    if process != "release":
        assert service["KillSignal"] == "SIGTERM"
        assert int(service["TimeoutStopSec"]) > 25  # beyond gunicorn's grace period
        assert unit(unit_name)["Install"]["WantedBy"] == "honora.target"


def test_the_target_starts_web_workers_and_the_sweeper():
    wants = unit("honora.target")["Unit"]["Wants"].split()
    assert "honora-web.service" in wants
    assert "honora-sweep.service" in wants
    assert any(name.startswith("honora-worker@") for name in wants)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path):
    # Installed where this checkout is, so that systemd finds the programs they name.
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED_AT, str(ROOT)))
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "honora" not in result.stdout + result.stderr


def test_env_example_holds_no_secret_and_passes_the_deploy_check_once_filled(tmp_path):
    text = (ROOT / ".env.example").read_text()
    named = dict(re.findall(r"(?m)^([A-Z_]+)=(.*)$", text))
    for required in (
        "DEBUG",
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
    ):
        assert required in named, required
    for secret in (
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "EMAIL_HOST_PASSWORD",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRETS",
    ):
        assert named[secret] == "", f"{secret} must be left for the operator to fill"

    values = parse_env_file(text)  # as honcho reads it (an empty value is no value)
    assert values["DEBUG"] == "0"
    assert values["ORGANIZATION_NAME"] == "Example Research Collaborative"
    assert values["DEFAULT_FROM_EMAIL"] == "Honora <no-reply@honora.example.org>"
    filled = {
        **values,
        "SECRET_KEY": "filled-by-the-operator-" + "x1y2z3" * 8,
        "FIELD_ENCRYPTION_KEY": "filled-by-the-operator-0123456789abcdef",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'honora.sqlite3'}",
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    output = manage(base_env(**filled), "check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in output
