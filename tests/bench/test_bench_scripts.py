"""The Honora-against-a-baseline benches still run, at a tiny size, and compare like with like.

No time is asserted (the machine is shared): only that each script finishes, prints its
table, and that the baseline built the same rows as Honora. They run as CI would run them, in a child process, on their own database.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from _processes import PG, drop_database  # noqa: E402

DATABASE = "honora_bench_test_scripts"


def _postgres_up() -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


pytestmark = pytest.mark.skipif(not _postgres_up(), reason=f"no PostgreSQL at {PG}")


@pytest.fixture
def database(request):
    # One database per test: two test processes never drop each other's.
    name = f"{DATABASE}_{request.node.name[5:30]}".lower()
    drop_database(name)
    yield name
    drop_database(name)


def run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("| what"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_batch_build_bench_builds_what_the_baseline_builds(database):
    output = run("batch_build.py", "--size", "5", "--runs", "1", "--database", database)
    rows = table_rows(output)
    honora, baseline = rows["Honora batch_build"], rows["raw INSERT … SELECT"]
    assert honora[0] == baseline[0]  # payments / items
    payments, items = (int(n) for n in honora[0].split(" / "))
    assert payments >= 5 and items >= 5 * 52
    assert int(honora[4]) > int(baseline[4]) == 3  # statements: the baseline is three
    amounts = re.search(r"amount: Honora (\S+), baseline (\S+)", output)
    assert amounts and amounts[1] == amounts[2]
    assert "note:" not in output


def test_imports_bench_reports_dry_run_apply_and_baseline(database):
    output = run("imports.py", "--rows", "20", "--size", "5", "--runs", "1", "--database", database)
    rows = table_rows(output)
    assert set(rows) == {"Honora dry run", "Honora apply", "bulk_create_with_history"}
    for name in ("Honora dry run", "Honora apply"):
        # A few statements per chunk of rows, not per row (the whole file is one chunk).
        assert 0 < int(rows[name][3]) < 20
        assert rows[name][5].endswith("MiB")
    assert "CSV import of 20 rows" in output
