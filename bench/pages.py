"""Pages and API lists against the SQL that selects what they show, timed in one run.

    uv run python bench/pages.py --size N [--pairs 15] [--warmups 2] [--database NAME]

Seeds PostgreSQL (database ``honora_bench_benchpages`` by default, created and migrated if
needed) with the demo study and N consultants with a year of approved work
(``seed_demo`` then ``seed_scale``; skipped when that size is already there), runs
ANALYZE, then for each page or API list of issue 18's table requests it through
Django's test ``Client`` (signed in as the role that uses it; the API with a personal
token) and runs its baseline: hand-written SQL selecting the same rows and columns,
through ``connection.cursor()``. Honora and the baseline are interleaved pair by pair
(Honora 1, baseline 1, Honora 2, baseline 2 ...) after warm-ups, so load drift hits
both. Queries are counted in one extra, untimed request. No timing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _processes import PG, ensure_database

DB_NAME = "honora_bench_benchpages"


@dataclass
class Row:
    what: str
    honora: list[float]
    baseline: list[float]
    queries: int
    nbytes: int
    status: int
    baseline_rows: int


# --- the baselines: what each page shows, selected by hand ---------------------------------
# Each returns the rows it selected (fetched, as a page must read them).

# /review/: a page of 50 waiting entries, oldest first, with its count, and the filter
# form's choice of consultants.
REVIEW_SQL = """
SELECT c.id, c.public_id, c.version, c.date, c.kind, c.activity, c.quantity, c.claimed_amount,
       c.rate, c.amount, c.status, c.submitted_at, e.rate_card_id, k.public_id, k.display_name,
       p.name, u.name
FROM engagements_contribution c
JOIN engagements_engagement e ON e.id = c.engagement_id
JOIN consultants_consultant k ON k.id = e.consultant_id
JOIN engagements_phase p ON p.id = e.phase_id
JOIN accounts_user u ON u.id = c.logged_by_id
WHERE c.status = 'submitted'
ORDER BY c.submitted_at, c.id
LIMIT 50
"""
REVIEW_COUNT_SQL = "SELECT count(*) FROM engagements_contribution WHERE status = 'submitted'"
REVIEW_CONSULTANTS_SQL = (
    "SELECT public_id, display_name FROM consultants_consultant ORDER BY display_name"
)

# /consultants/: a page of 50, by name, W-9 status and active engagements, with its count.
CONSULTANTS_LIST_SQL = """
SELECT k.id, k.public_id, k.display_name, k.status, k.payout_method, t.status,
       count(e.id) FILTER (WHERE e.status = 'active')
FROM consultants_consultant k
LEFT JOIN consultants_taxform t ON t.consultant_id = k.id
LEFT JOIN engagements_engagement e ON e.consultant_id = k.id
GROUP BY k.id, t.status
ORDER BY k.display_name, k.id
LIMIT 50
"""
CONSULTANTS_COUNT_SQL = "SELECT count(*) FROM consultants_consultant"

# /api/v1/consultants/: a cursor page of 50 (51 read to know there is a next), newest first.
API_CONSULTANTS_SQL = """
SELECT k.public_id, k.status, k.display_name, k.pseudonym, k.preferred_language,
       k.safe_contact_method, k.safe_to_leave_message, k.payout_method, k.gift_card_store,
       k.credit_preference, k.receipt_name, k.email_receipts, coalesce(t.status, 'missing'),
       k.user_id IS NOT NULL, k.created_at
FROM consultants_consultant k
LEFT JOIN consultants_taxform t ON t.consultant_id = k.id
ORDER BY k.id DESC
LIMIT 51
"""

# /api/v1/contributions/: a cursor page of 50, newest first, with the open-dispute flag.
API_CONTRIBUTIONS_SQL = """
SELECT c.public_id, e.public_id, k.public_id, k.display_name, p.name, c.kind, c.activity,
       c.date, c.quantity, c.claimed_amount, c.description, c.status, c.rate, c.amount,
       lu.name, au.name, a.public_id, c.attachment <> '', c.promised_pay_date,
       EXISTS (SELECT 1 FROM engagements_dispute d
               WHERE d.contribution_id = c.id AND d.status = 'open')
FROM engagements_contribution c
JOIN engagements_engagement e ON e.id = c.engagement_id
JOIN consultants_consultant k ON k.id = e.consultant_id
JOIN engagements_phase p ON p.id = e.phase_id
JOIN accounts_user lu ON lu.id = c.logged_by_id
LEFT JOIN accounts_user au ON au.id = c.approved_by_id
LEFT JOIN engagements_contribution a ON a.id = c.adjusts_id
ORDER BY c.id DESC
LIMIT 51
"""

# /api/v1/payments/: a cursor page of 50 payments with their items and attempts.
API_PAYMENTS_SQL = """
WITH page AS (
    SELECT * FROM payments_payment ORDER BY id DESC LIMIT 51
)
SELECT page.public_id, b.public_id, k.public_id, k.display_name, page.method, page.rail,
       page.amount, page.currency, page.status, page.hold_reason, page.hold_detail,
       page.gift_card_store, page.reference, page.handed_over_on, page.proof <> '',
       page.transfer_id, page.paid_at, page.failure_code, page.failure_message,
       page.closed_reason, page.created_at,
       (SELECT coalesce(json_agg(json_build_object(
                'contribution', c.public_id, 'kind', c.kind, 'activity', c.activity,
                'date', c.date, 'phase_name', ph.name, 'quantity', c.quantity, 'rate', c.rate,
                'amount', i.amount, 'live', i.live) ORDER BY i.id), '[]')
          FROM payments_paymentitem i
          JOIN engagements_contribution c ON c.id = i.contribution_id
          JOIN engagements_engagement e ON e.id = c.engagement_id
          JOIN engagements_phase ph ON ph.id = e.phase_id
         WHERE i.payment_id = page.id),
       (SELECT coalesce(json_agg(json_build_object(
                'number', a.number, 'status', a.status, 'provider_reference',
                a.provider_reference, 'error_code', a.error_code, 'error_message',
                a.error_message, 'started_at', a.started_at, 'finished_at', a.finished_at)
                ORDER BY a.number), '[]')
          FROM payments_paymentattempt a WHERE a.payment_id = page.id)
FROM page
LEFT JOIN payments_payoutbatch b ON b.id = page.batch_id
JOIN consultants_consultant k ON k.id = page.consultant_id
ORDER BY page.id DESC
"""

# consultant /me/: totals by month (the chart, this month, this year), by phase and all
# time, split by status, and the next promised payment.
ME_SQL = """
SELECT date_trunc('month', c.date), p.name, c.status, c.kind, count(*),
       coalesce(sum(c.amount), 0)
FROM engagements_contribution c
JOIN engagements_engagement e ON e.id = c.engagement_id
JOIN engagements_phase p ON p.id = e.phase_id
WHERE e.consultant_id = %(consultant)s
GROUP BY 1, 2, 3, 4
"""
ME_NEXT_SQL = """
SELECT min(c.promised_pay_date), sum(c.amount)
FROM engagements_contribution c
JOIN engagements_engagement e ON e.id = c.engagement_id
WHERE e.consultant_id = %(consultant)s AND c.status = 'approved'
"""

# The study dashboard: every engagement's budget line, the approved work not yet paid,
# and the times from approval to payment.
DASHBOARD_SQL = """
SELECT e.id, k.display_name, p.name, e.role, e.budget, e.status,
       coalesce(sum(c.amount) FILTER (WHERE c.status IN ('approved', 'paid')), 0),
       coalesce(sum(c.amount) FILTER (WHERE c.status = 'paid'), 0),
       coalesce(sum(c.amount) FILTER (WHERE c.status = 'approved'), 0),
       coalesce(sum(c.amount) FILTER (WHERE c.status = 'submitted'), 0)
FROM engagements_engagement e
JOIN engagements_phase p ON p.id = e.phase_id
JOIN consultants_consultant k ON k.id = e.consultant_id
LEFT JOIN engagements_contribution c ON c.engagement_id = e.id
WHERE p.study_id = %(study)s
GROUP BY e.id, k.display_name, p.name, p.position
ORDER BY p.position, k.display_name
"""
DASHBOARD_UNPAID_SQL = """
SELECT c.public_id, c.date, c.amount, c.approved_at, c.promised_pay_date, k.display_name
FROM engagements_contribution c
JOIN engagements_engagement e ON e.id = c.engagement_id
JOIN engagements_phase p ON p.id = e.phase_id
JOIN consultants_consultant k ON k.id = e.consultant_id
WHERE p.study_id = %(study)s AND c.status = 'approved'
ORDER BY c.approved_at, c.id
"""
DASHBOARD_TIMES_SQL = """
SELECT pay.paid_at::date - c.approved_at::date
FROM payments_payment pay
JOIN payments_paymentitem i ON i.payment_id = pay.id AND i.live
JOIN engagements_contribution c ON c.id = i.contribution_id
JOIN engagements_engagement e ON e.id = c.engagement_id
JOIN engagements_phase p ON p.id = e.phase_id
WHERE p.study_id = %(study)s AND pay.status = 'paid'
"""


def sql_runner(*statements: str, params: dict | None = None) -> Callable[[], int]:
    from django.db import connection

    def run() -> int:
        rows = 0
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, params or {})
                rows += len(cursor.fetchall())
        return rows

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20, help="consultants added by seed_scale")
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--database", default=DB_NAME, help=f"PostgreSQL database ({DB_NAME})")
    parser.add_argument("--only", default="", help="run only the rows whose name contains this")
    args = parser.parse_args()

    ensure_database(args.database)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "DATABASE_URL": f"{PG}/{args.database}",
            "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.roles import sync_roles
    from accounts.services import api_token_create
    from demo import data
    from engagements.models import Study

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the API's throttles use the database cache
    sync_roles()
    t0 = time.monotonic()
    base = data.seed_demo()
    from consultants.models import Consultant

    demo_consultants = len(data.CONSULTANTS)
    have = Consultant.objects.count() - demo_consultants
    if have < args.size:
        data.seed_scale(consultants=args.size - have)
    elif have > args.size:
        print(f"note: the database already holds {have} scale consultants (asked {args.size})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    study = Study.objects.get(name=data.STUDY_NAME)
    users = base.users
    coordinator = users["coordinator@example.org"]
    finance = users["finance@example.org"]
    consultant_user = users["consultant@example.org"]
    print(
        f"database {args.database}: {Consultant.objects.count()} consultants,"
        f" seeded and analysed in {time.monotonic() - t0:.1f} s",
        flush=True,
    )

    def signed_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def with_token(user) -> Client:
        _token, text = api_token_create(user=user, name="bench pages", days=1)
        return Client(headers={"authorization": f"Token {text}"})

    coordinator_web = signed_in(coordinator)
    consultant_web = signed_in(consultant_user)
    coordinator_api = with_token(coordinator)
    finance_api = with_token(finance)
    own = consultant_user.consultant.pk

    cases: list[tuple[str, Client, str, Callable[[], int]]] = [
        (
            "Review /review/",
            coordinator_web,
            "/review/",
            sql_runner(REVIEW_SQL, REVIEW_COUNT_SQL, REVIEW_CONSULTANTS_SQL),
        ),
        (
            "/api/v1/consultants/",
            coordinator_api,
            "/api/v1/consultants/",
            sql_runner(API_CONSULTANTS_SQL),
        ),
        (
            "/api/v1/contributions/",
            coordinator_api,
            "/api/v1/contributions/",
            sql_runner(API_CONTRIBUTIONS_SQL),
        ),
        (
            "consultant /me/",
            consultant_web,
            "/me/",
            sql_runner(ME_SQL, ME_NEXT_SQL, params={"consultant": own}),
        ),
        (
            "/consultants/",
            coordinator_web,
            "/consultants/",
            sql_runner(CONSULTANTS_LIST_SQL, CONSULTANTS_COUNT_SQL),
        ),
        ("/api/v1/payments/", finance_api, "/api/v1/payments/", sql_runner(API_PAYMENTS_SQL)),
        (
            "study dashboard",
            coordinator_web,
            f"/studies/{study.public_id}/",
            sql_runner(
                DASHBOARD_SQL, DASHBOARD_UNPAID_SQL, DASHBOARD_TIMES_SQL, params={"study": study.pk}
            ),
        ),
    ]

    rows: list[Row] = []
    for what, client, url, baseline in cases:
        if args.only and args.only not in what:
            continue
        for _ in range(args.warmups):
            client.get(url)
            baseline()
        honora_times: list[float] = []
        baseline_times: list[float] = []
        for _ in range(args.pairs):
            start = time.perf_counter()
            response = client.get(url)
            honora_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            baseline_rows = baseline()
            baseline_times.append(time.perf_counter() - start)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        rows.append(
            Row(what, honora_times, baseline_times, len(queries), len(response.content),
                response.status_code, baseline_rows)
        )  # fmt: skip
        print(f"  {what}: done", flush=True)
    report(rows, args)
    broken = [r.what for r in rows if r.status != 200]
    if broken:  # a page that fails is not a figure: CI runs this to keep it working
        sys.exit(f"not 200: {', '.join(broken)}")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]  # nearest rank


def report(rows: list[Row], args) -> None:
    print()
    print(f"size {args.size}, {args.pairs} interleaved pairs after {args.warmups} warm-ups (ms)")
    header = (
        f"{'what':<24} {'status':>6} {'median':>8} {'p95':>8} {'queries':>7} {'KiB':>8}"
        f" {'baseline':>8} {'b.rows':>6} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        h, b = statistics.median(r.honora), statistics.median(r.baseline)
        print(
            f"{r.what:<24} {r.status:>6} {h * 1000:8.1f} {p95(r.honora) * 1000:8.1f}"
            f" {r.queries:>7} {r.nbytes / 1024:8.1f} {b * 1000:8.2f} {r.baseline_rows:>6}"
            f" {h / b if b else float('nan'):6.1f}x"
        )


if __name__ == "__main__":
    main()
