"""What the Honora-against-a-baseline benches share: the database, seeding, pairs, the table.

Each bench runs Honora and its baseline interleaved, pair by pair (Honora run 1,
baseline run 1, Honora run 2, ...), so load drift on a shared machine lands on
both sides; it prints one table of medians, p95s and ratios. Nothing here asserts
a time.

The database (PostgreSQL, ``honora_bench_<name>``) is created and migrated when
missing and seeded with ``demo.data.seed_scale`` at the size asked for; a database
seeded at another size is dropped and made again. Every timed run is rolled back,
so the seeded state is the same for every pair and for the next run of the bench.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _processes import PG, drop_database, ensure_database

DEFAULT_DATABASE = "honora_bench_benchwork"
SCALE_PREFIX = "Consultant "  # seed_scale's display names


def setup_django(database: str) -> None:
    """Point Django at ``database`` (created if missing) and set it up; tasks go nowhere."""
    ensure_database(database)
    os.environ["DATABASE_URL"] = f"{PG}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    import django

    django.setup()


def seeded(database: str, consultants: int) -> None:
    """Migrate, and seed ``consultants`` consultants with a year of approved work each
    (``seed_scale``, which ends with ANALYZE); a database seeded at another size is
    made again. ANALYZE runs again either way, before anything is timed."""
    from django.core.management import call_command
    from django.db import connection, connections

    from consultants.models import Consultant
    from demo.data import analyze, seed_scale

    call_command("migrate", verbosity=0)
    have = Consultant.objects.filter(display_name__startswith=SCALE_PREFIX).count()
    if have not in (0, consultants):
        print(f"{database} was seeded with {have} consultants; making it again", flush=True)
        connections.close_all()
        drop_database(database)
        ensure_database(database)
        call_command("migrate", verbosity=0)
        have = 0
    if have == 0:
        started = time.perf_counter()
        rows = seed_scale(consultants=consultants)
        print(
            f"seeded {consultants} consultants, {rows} contributions "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    analyze()
    connection.close()  # a fresh connection: nothing cached from seeding


@contextmanager
def rolled_back() -> Iterator[None]:
    """A transaction that is always rolled back (sequences still advance)."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


class StatementCounter:
    """Counts the SQL statements Django sends, through ``connection.execute_wrapper``
    (cheaper than capturing them, so it can stay on while timing)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    @contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        from django.db import connection

        self.count = 0
        with connection.execute_wrapper(self):
            yield self


COUNTER = StatementCounter()  # the one ``pairs`` counts with; a run may read it


@dataclass
class Side:
    """One side's runs: seconds and statements of each."""

    seconds: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def p95(self) -> float:
        # Nearest rank: with few runs it is the slowest, which is the honest reading.
        ordered = sorted(self.seconds)
        return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def pairs(
    runs: int,
    honora: Callable[[], object],
    baseline: Callable[[], object],
    *,
    warm_up: bool = True,
) -> tuple[Side, Side]:
    """Time ``honora`` and ``baseline`` interleaved, ``runs`` pairs, after one untimed
    warm-up of each (unless the caller ran its own); statements counted for both."""
    counter = COUNTER
    if warm_up:
        honora()
        baseline()
    sides = (Side(), Side())
    for _ in range(runs):
        for side, run in zip(sides, (honora, baseline), strict=True):
            with counter.counting():
                started = time.perf_counter()
                run()
                side.seconds.append(time.perf_counter() - started)
            side.statements.append(counter.count)
    return sides


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    print(line.format(*header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line.format(*row))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1_000_000:.0f} µs"
