"""CSV import of contributions: Honora's dry run and apply against a bulk insert with history.

    uv run python bench/imports.py --rows 200 [--size 20] [--runs 3] [--database honora_bench_benchwork]

The database holds the demo and ``--size`` consultants with a year of approved work
each (``seed_scale``, then ANALYZE). The file: ``--rows`` rows of hours for those
consultants' engagements (named by id), on days before today, each engagement's rows
on different days. Honora: ``engagements.imports.run_import`` as the coordinator,
once as a dry run and once applied, each in a transaction that is rolled back. The
baseline: read the same CSV and ``bulk_create_with_history`` the same contributions
(submitted, logged by the coordinator, each with its history row and reason), rolled
back too. The three are interleaved run by run (dry run, apply, baseline, ...), so
load drift lands on all of them. Honora's peak Python memory is measured by
tracemalloc in one more dry run and apply after the timed ones (tracemalloc slows
what it watches, so never while timing). No time is asserted.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    COUNTER,
    DEFAULT_DATABASE,
    Side,
    ms,
    print_table,
    rolled_back,
    seeded,
    setup_django,
    us,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="rows in the file")
    parser.add_argument("--size", type=int, default=20, help="consultants with a year of work")
    parser.add_argument("--runs", type=int, default=3, help="timed rounds")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    setup_django(args.database)
    seeded(args.database, args.size)

    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from accounts.models import User
    from engagements import actions
    from engagements.imports import MAX_IMPORT_ROWS, run_import
    from engagements.models import Activity, Contribution, Engagement

    if not 0 < args.rows <= MAX_IMPORT_ROWS:
        parser.error(f"--rows must be 1 to {MAX_IMPORT_ROWS} (the import's own limit today)")
    coordinator = User.objects.get(email="coordinator@example.org")
    engagements = list(
        Engagement.objects.filter(
            status=Engagement.Status.ACTIVE, consultant__display_name__startswith="Consultant "
        )
        .select_related("consultant")
        .order_by("pk")
    )
    today = timezone.localdate()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["consultant", "engagement", "date", "kind", "activity", "quantity", "description"]
    )
    for i in range(args.rows):
        e = engagements[i % len(engagements)]
        day = today - timedelta(days=1 + i // len(engagements))
        writer.writerow(
            [
                e.consultant.public_id,
                e.public_id,
                day.isoformat(),
                "hours",
                Activity.WORK,
                "0.25",
                f"banco {i}",
            ]
        )
    content = out.getvalue().encode()

    def honora(commit: bool):
        def run() -> None:
            with rolled_back():
                report = run_import(content=content, by=coordinator, commit=commit)
            if report.header_errors or report.error_rows:
                first = report.header_errors or report.error_rows[0].errors
                raise SystemExit(f"the import refused the bench file: {first}")
            if commit and report.imported != args.rows:
                raise SystemExit(f"imported {report.imported} of {args.rows} rows")

        return run

    def baseline() -> None:
        with rolled_back():
            rows = list(csv.DictReader(io.StringIO(content.decode())))
            by_id = {
                str(e.public_id): e.pk
                for e in Engagement.objects.filter(
                    public_id__in={r["engagement"] for r in rows}
                ).only("pk", "public_id")
            }
            now = timezone.now()
            objs = []
            for number, r in enumerate(rows, start=1):
                c = Contribution(
                    engagement_id=by_id[r["engagement"]],
                    kind=Contribution.Kind.HOURS,
                    activity=r["activity"],
                    date=r["date"],
                    quantity=r["quantity"],
                    description=r["description"],
                    logged_by=coordinator,
                    status=Contribution.Status.SUBMITTED,
                    submitted_at=now,
                )
                c._change_reason = f"Imported from a spreadsheet, row {number}"
                objs.append(c)
            bulk_create_with_history(
                objs,
                Contribution,
                batch_size=1000,
                default_user=coordinator,
                custom_historical_attrs={"history_action": actions.CONTRIBUTION_IMPORTED},
            )

    runs = {"dry run": honora(False), "apply": honora(True), "baseline": baseline}
    sides = {name: Side() for name in runs}
    for run in runs.values():  # warm-up, untimed
        run()
    for _ in range(args.runs):
        for name, run in runs.items():
            with COUNTER.counting():
                started = time.perf_counter()
                run()
                sides[name].seconds.append(time.perf_counter() - started)
            sides[name].statements.append(COUNTER.count)

    peaks = {}
    for name in ("dry run", "apply"):
        tracemalloc.start()
        runs[name]()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    base = sides["baseline"].median()
    n = args.rows
    table = []
    for name, label in (
        ("dry run", "Honora dry run"),
        ("apply", "Honora apply"),
        ("baseline", "bulk_create_with_history"),
    ):
        side = sides[name]
        statements = statistics.median(side.statements)
        table.append(
            [
                label,
                ms(side.median()),
                ms(side.p95()),
                us(side.median() / n),
                f"{statements:.0f}",
                f"{statements / n:.2f}",
                f"{peaks[name] / 2**20:.1f} MiB" if name in peaks else "",
                f"{side.median() / base:.1f}×",
            ]
        )
    print(
        f"\nCSV import of {n} rows ({len(content)} bytes) for {len(engagements)} engagements, "
        f"{args.size} consultants × a year; {args.runs} interleaved rounds, each rolled back"
    )
    print_table(
        table,
        ["what", "median", "p95", "per row", "statements", "per row", "peak memory", "ratio"],
    )


if __name__ == "__main__":
    main()
