"""Building a payout batch: Honora's ``batch_build`` against a raw ``INSERT … SELECT``.

    uv run python bench/batch_build.py --size 20 [--runs 3] [--database honora_bench_benchwork]

The database holds the demo and ``--size`` consultants with a year of approved work
each (``seed_scale``, then ANALYZE). Each run, Honora's and the baseline's, happens in
a transaction that is rolled back, so every pair starts from the same state (rather
than ``batch_cancel``, which would leave cancelled payments behind and change what
the next build reads).

Honora: ``payments.services.batches.batch_build`` by finance, everything approved up
to today, every method. Baseline: the same batch row, then one ``INSERT … SELECT``
of the payments (approved work that no live item holds and no open dispute holds,
grouped by consultant) and one of their items, with no history, no pre-flight and no
pay plans. Runs are interleaved pair by pair. No time is asserted.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    DEFAULT_DATABASE,
    ms,
    pairs,
    print_table,
    rolled_back,
    seeded,
    setup_django,
    us,
)


def insert_columns(model, given: dict[str, str]) -> tuple[list[str], list[str], list[object]]:
    """Columns, SQL expressions and parameters for a raw insert of ``model``: the
    expressions ``given`` by column, every other column its Django default (a fresh
    uuid by ``gen_random_uuid()``, ``now()`` for automatic times, NULL where allowed)."""
    import uuid

    from django.db import connection

    columns, expressions, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.column in given:
            expressions.append(given[f.column])
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            expressions.append("now()")
        elif f.has_default() and f.default is uuid.uuid4:
            expressions.append("gen_random_uuid()")
        elif f.has_default() or not f.null:
            expressions.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection))
        else:
            expressions.append("NULL")
    missing = set(given) - {f.column for f in model._meta.concrete_fields}
    assert not missing, f"not columns of {model.__name__}: {missing}"
    return columns, expressions, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20, help="consultants with a year of work")
    parser.add_argument("--runs", type=int, default=3, help="timed pairs")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    setup_django(args.database)
    seeded(args.database, args.size)

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from consultants.models import Consultant, PayoutMethod
    from core.money import sum_money
    from engagements.models import Contribution, Engagement
    from payments import preflight
    from payments.models import Payment, PaymentItem, PayoutBatch, Rail
    from payments.services.batches import batch_build

    finance = User.objects.get(email="finance@example.org")
    today = timezone.localdate()
    counts: dict[str, tuple[int, int, Decimal]] = {}

    def honora(check: bool = False) -> None:
        with rolled_back():
            batch = batch_build(by=finance, cutoff_date=today)
            if check:
                payments = Payment.objects.filter(batch=batch)
                counts["honora"] = (
                    payments.count(),
                    PaymentItem.objects.filter(payment__batch=batch).count(),
                    sum_money(payments.values_list("amount", flat=True)),
                )

    open_ids, open_params = (
        Contribution.objects.filter(preflight.open_items_filter(), date__lte=today)
        .values("pk")
        .query.sql_with_params()
    )
    q = connection.ops.quote_name
    contribution, engagement, consultant = (
        q(m._meta.db_table) for m in (Contribution, Engagement, Consultant)
    )
    batch_cols, batch_exprs, batch_params = insert_columns(
        PayoutBatch,
        {"cutoff_date": "%(cutoff)s", "created_by_id": "%(by)s"},
    )
    payment_cols, payment_exprs, payment_params = insert_columns(
        Payment,
        {
            "batch_id": "%(batch)s",
            "consultant_id": "e.consultant_id",
            "method": "co.payout_method",
            "rail": f"CASE WHEN co.payout_method = '{PayoutMethod.STRIPE}' "
            f"THEN '{Rail.STRIPE}' ELSE '{Rail.MANUAL}' END",
            "amount": "SUM(c.amount)",
            "gift_card_store": f"CASE WHEN co.payout_method = '{PayoutMethod.GIFT_CARD}' "
            "THEN co.gift_card_store ELSE '' END",
        },
    )
    item_cols, item_exprs, item_params = insert_columns(
        PaymentItem,
        {"payment_id": "p.id", "contribution_id": "c.id", "amount": "c.amount", "live": "true"},
    )
    # Parameters as %(name)s throughout the payment and item statements: the open-work
    # subquery's own %s are renumbered into names.
    open_sql = open_ids
    named: dict[str, object] = {}
    for i, value in enumerate(open_params):
        open_sql = open_sql.replace("%s", f"%(o{i})s", 1)
        named[f"o{i}"] = value

    def positional_to_named(exprs: list[str], params: list[object], prefix: str) -> list[str]:
        out = []
        n = 0
        for e in exprs:
            while "%s" in e:
                e = e.replace("%s", f"%({prefix}{n})s", 1)
                named[f"{prefix}{n}"] = params[n]
                n += 1
            out.append(e)
        return out

    payment_exprs = positional_to_named(payment_exprs, payment_params, "p")
    item_exprs = positional_to_named(item_exprs, item_params, "i")
    batch_exprs = positional_to_named(batch_exprs, batch_params, "b")
    payment_sql = (
        f"INSERT INTO {q(Payment._meta.db_table)} ({', '.join(payment_cols)}) "
        f"SELECT {', '.join(payment_exprs)} FROM {contribution} c "
        f"JOIN {engagement} e ON e.id = c.engagement_id JOIN {consultant} co ON co.id = e.consultant_id "
        f"WHERE c.id IN ({open_sql}) GROUP BY e.consultant_id, co.payout_method, co.gift_card_store"
    )
    item_sql = (
        f"INSERT INTO {q(PaymentItem._meta.db_table)} ({', '.join(item_cols)}) "
        f"SELECT {', '.join(item_exprs)} FROM {contribution} c "
        f"JOIN {engagement} e ON e.id = c.engagement_id "
        f"JOIN {q(Payment._meta.db_table)} p ON p.batch_id = %(batch)s AND p.consultant_id = e.consultant_id "
        f"WHERE c.id IN ({open_sql})"
    )
    batch_sql = (
        f"INSERT INTO {q(PayoutBatch._meta.db_table)} ({', '.join(batch_cols)}) "
        f"VALUES ({', '.join(batch_exprs)}) RETURNING id"
    )

    def baseline(check: bool = False) -> None:
        with rolled_back(), connection.cursor() as cursor:
            cursor.execute(batch_sql, {**named, "cutoff": today, "by": finance.pk})
            batch_id = cursor.fetchone()[0]
            cursor.execute(payment_sql, {**named, "batch": batch_id})
            payments = cursor.rowcount
            cursor.execute(item_sql, {**named, "batch": batch_id})
            if check:
                items = cursor.rowcount
                total = Payment.objects.filter(batch_id=batch_id).values_list("amount", flat=True)
                counts["baseline"] = (payments, items, sum_money(total))

    # The untimed warm-up pair also reads back what each built, to compare.
    honora(check=True)
    baseline(check=True)
    honora_side, baseline_side = pairs(args.runs, honora, baseline, warm_up=False)
    h_payments, h_items, h_total = counts["honora"]
    b_payments, b_items, b_total = counts["baseline"]
    print(
        f"\nbatch build, {args.size} consultants × a year; {args.runs} interleaved pairs, "
        "each rolled back"
    )
    print_table(
        [
            [
                "Honora batch_build",
                f"{h_payments} / {h_items}",
                ms(honora_side.median()),
                ms(honora_side.p95()),
                us(honora_side.median() / max(h_items, 1)),
                str(honora_side.statements[-1]),
                f"{honora_side.statements[-1] / max(h_items, 1):.1f}",
                f"{honora_side.median() / baseline_side.median():.1f}×",
            ],
            [
                "raw INSERT … SELECT",
                f"{b_payments} / {b_items}",
                ms(baseline_side.median()),
                ms(baseline_side.p95()),
                us(baseline_side.median() / max(b_items, 1)),
                str(baseline_side.statements[-1]),
                f"{baseline_side.statements[-1] / max(b_items, 1):.2f}",
                "1.0×",
            ],
        ],
        [
            "what",
            "payments / items",
            "median",
            "p95",
            "per item",
            "statements",
            "per item",
            "ratio",
        ],
    )
    print(f"amount: Honora {h_total}, baseline {b_total}")
    if (h_payments, h_items, h_total) != (b_payments, b_items, b_total):
        print(
            "note: the baseline built other rows than Honora (Honora leaves out work that "
            "the consultants' pay plans defer)"
        )


if __name__ == "__main__":
    main()
