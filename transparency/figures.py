"""The report's raw figures for one study up to an end date, read with SQL aggregates.

Every figure is a ``suppression.Cell``: its values and the set of consultants it
describes. The sets hold database ids in memory only; ``report.py`` turns the cells
into the published document, which never carries an id.

What is counted: money paid to consultants for their work (hours and honoraria) in
payments that were paid (status *paid*) on or before the end date, by the payment
items that belong to this study. Reimbursements and advances are repayments of
costs, not compensation, and are left out. Hours are the hours of the paid hourly
entries; the effective hourly rate is what was paid for hourly work divided by those
hours.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncQuarter
from django.utils import timezone

from engagements.models import Activity, Contribution, Study
from payments.models import Payment, PaymentItem
from promises.selectors import payment_times
from promises.selectors import percentile as shared_percentile
from transparency.suppression import Cell, Group

INCOME = (Contribution.Kind.HOURS, Contribution.Kind.HONORARIUM)
ZERO = Decimal("0")

# Time-to-pay buckets, in whole days from approval to payment: (key, first day, last day).
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("31-60", 31, 60),
    ("61+", 61, None),
)


@dataclass
class Figures:
    study: Study
    end: dt.date
    start: dt.date | None = None  # None: from the study's first payment
    cells: dict[str, Cell] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    # Cells of different tables that are one figure (same people, same money).
    links: list[tuple[str, ...]] = field(default_factory=list)
    # Each table's rows in order: (cell key, label as published).
    tables: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Per rail: each payment's whole days from approval to money paid, for the medians.
    days: dict[str, list[int]] = field(default_factory=dict)


def end_exclusive(end: dt.date) -> dt.datetime:
    """The first moment after ``end`` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))


def start_inclusive(start: dt.date) -> dt.datetime:
    """The first moment of ``start`` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(start, dt.time.min))


def paid_items(study: Study, end: dt.date, start: dt.date | None = None) -> QuerySet[PaymentItem]:
    """Live items of paid payments, paid from ``start`` (if given) to ``end``, for this
    study's work (income only)."""
    items = PaymentItem.objects.filter(
        live=True,
        payment__status=Payment.Status.PAID,
        payment__paid_at__lt=end_exclusive(end),
        contribution__engagement__phase__study=study,
        contribution__kind__in=INCOME,
    )
    if start is not None:
        items = items.filter(payment__paid_at__gte=start_inclusive(start))
    return items


def quarter_label(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def _cells_by(
    rows: Iterable[dict[str, Any]], key_field: str, values: tuple[str, ...]
) -> dict[Any, Cell]:
    """Rows of (key, consultant, sums...) from SQL folded into one cell per key."""
    people: dict[Any, set[int]] = defaultdict(set)
    sums: dict[Any, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(values, ZERO))
    for row in rows:
        k = row[key_field]
        people[k].add(row["payment__consultant_id"])
        for v in values:
            sums[k][v] += row[v] or ZERO
    return {k: Cell(key=str(k), people=frozenset(people[k]), values=sums[k]) for k in people}


def _add_table(
    f: Figures,
    name: str,
    total_key: str,
    found: dict[Any, Cell],
    order: Sequence[tuple[Any, str]],
) -> None:
    """Register a table's cells (missing ones are true zeros) and its additive group."""
    total = f.cells[total_key]
    rows = []
    for k, label in order:
        key = f"{name}:{k}"
        cell = found.get(k)
        if cell is None:
            cell = Cell(key=key, people=frozenset(), values=dict.fromkeys(total.values, ZERO))
        f.cells[key] = Cell(key=key, people=cell.people, values=dict(cell.values))
        rows.append((key, label))
    f.tables[name] = rows
    f.groups.append(Group(name=name, members=tuple(k for k, _ in rows), total=total_key))


def figures_for(study: Study, end: dt.date, start: dt.date | None = None) -> Figures:
    f = Figures(study=study, end=end, start=start)
    items = paid_items(study, end, start)
    who = "payment__consultant_id"

    # The grand total: every table of money below adds up to exactly this.
    everyone = items.values(who).annotate(paid=Sum("amount"))
    whole = _cells_by(({**r, "all": "all"} for r in everyone), "all", ("paid",))
    grand = whole.get("all")
    f.cells["paid"] = Cell(
        "paid",
        grand.people if grand else frozenset(),
        {"paid": grand.values["paid"] if grand else ZERO},
    )

    by_phase = _cells_by(
        items.values("contribution__engagement__phase_id", who).annotate(paid=Sum("amount")),
        "contribution__engagement__phase_id",
        ("paid",),
    )
    phases = [(p.pk, p.name) for p in study.phases.order_by("position", "id")]
    _add_table(f, "phase", "paid", by_phase, phases)

    by_activity = _cells_by(
        items.values("contribution__activity", who).annotate(paid=Sum("amount")),
        "contribution__activity",
        ("paid",),
    )
    activities = [(a.value, a.value) for a in Activity if a.value in by_activity]
    _add_table(f, "activity", "paid", by_activity, activities)

    by_method = _cells_by(
        items.values("payment__method", who).annotate(paid=Sum("amount")),
        "payment__method",
        ("paid",),
    )
    _add_table(f, "method", "paid", by_method, [(m, m) for m in sorted(by_method)])

    quarterly = items.annotate(q=TruncQuarter("payment__paid_at"))
    by_quarter = _cells_by(
        (
            {**r, "q": quarter_label(r["q"])}
            for r in quarterly.values("q", who).annotate(paid=Sum("amount"))
        ),
        "q",
        ("paid",),
    )
    quarters = sorted(by_quarter)
    _add_table(f, "quarter", "paid", by_quarter, [(q, q) for q in quarters])

    # Hours: the hourly entries only; their own population (some people earn only honoraria).
    hourly = items.filter(contribution__kind=Contribution.Kind.HOURS)
    hour_rows = [
        {**r, "q": quarter_label(r["q"])}
        for r in hourly.annotate(q=TruncQuarter("payment__paid_at"))
        .values("q", who)
        .annotate(hours=Sum("contribution__quantity"), hourly_paid=Sum("amount"))
    ]
    all_hours = _cells_by(
        ({**r, "all": "all"} for r in hour_rows), "all", ("hours", "hourly_paid")
    ).get("all")
    f.cells["hours"] = Cell(
        "hours",
        all_hours.people if all_hours else frozenset(),
        dict(all_hours.values) if all_hours else {"hours": ZERO, "hourly_paid": ZERO},
    )
    hours_by_quarter = _cells_by(hour_rows, "q", ("hours", "hourly_paid"))

    # Hours times the effective rate is the hourly pay: published as good as exactly, so
    # it is money of its cell ("paid") and the rest of the pay is a cell of its own.
    def with_paid(cell: Cell) -> Cell:
        return Cell(cell.key, cell.people, {**cell.values, "paid": cell.values["hourly_paid"]})

    f.cells["hours"] = with_paid(f.cells["hours"])
    hours_by_quarter = {q: with_paid(c) for q, c in hours_by_quarter.items()}
    _add_table(f, "hours_quarter", "hours", hours_by_quarter, [(q, q) for q in quarters])
    other = items.exclude(contribution__kind=Contribution.Kind.HOURS)
    other_rows = [
        {**r, "q": quarter_label(r["q"])}
        for r in other.annotate(q=TruncQuarter("payment__paid_at"))
        .values("q", who)
        .annotate(paid=Sum("amount"))
    ]
    all_other = _cells_by(({**r, "all": "all"} for r in other_rows), "all", ("paid",)).get("all")
    f.cells["other"] = Cell(
        "other",
        all_other.people if all_other else frozenset(),
        dict(all_other.values) if all_other else {"paid": ZERO},
    )
    _add_table(
        f,
        "other_quarter",
        "other",
        _cells_by(other_rows, "q", ("paid",)),
        [(q, q) for q in quarters],
    )
    # The study's pay, and each quarter's, is its hourly pay plus the rest.
    f.groups.append(Group(name="split", members=("hours", "other"), total="paid"))
    for q in quarters:
        f.groups.append(
            Group(
                name=f"split:{q}",
                members=(f"hours_quarter:{q}", f"other_quarter:{q}"),
                total=f"quarter:{q}",
            )
        )
    _link_mirrors(f, ("phase", "activity", "method", "quarter"))

    _time_to_pay(f, study, end, start)
    return f


def _link_mirrors(f: Figures, tables: Sequence[str]) -> None:
    """Cells of different tables with the same people and the same money are one figure
    (a phase that ran in a single quarter, an activity of one phase only)."""
    seen: dict[tuple[frozenset[int], Decimal], list[str]] = defaultdict(list)
    for name in tables:
        for key, _label in f.tables[name]:
            cell = f.cells[key]
            if cell.people:
                seen[(cell.people, cell.values["paid"])].append(key)
    f.links.extend(tuple(keys) for keys in seen.values() if len(keys) > 1)


def _time_to_pay(f: Figures, study: Study, end: dt.date, start: dt.date | None) -> None:
    """Per payment: from the first approval of its entries in this study to money paid
    (``promises.selectors.payment_times``, which the study dashboard reads too)."""
    by_rail: dict[str, list[tuple[int, int]]] = defaultdict(list)
    since = start_inclusive(start) if start is not None else None
    for t in payment_times(study=study, since=since, until=end_exclusive(end)):
        by_rail[t.rail].append((t.consultant_id, t.days))
    for rail in sorted(by_rail):
        payments = by_rail[rail]
        total_key = f"rail:{rail}"
        f.cells[total_key] = Cell(
            total_key,
            frozenset(p for p, _ in payments),
            {"payments": Decimal(len(payments))},
        )
        found: dict[Any, Cell] = {}
        for bucket, low, high in BUCKETS:
            inside = [(p, d) for p, d in payments if d >= low and (high is None or d <= high)]
            if inside:
                found[bucket] = Cell(
                    bucket, frozenset(p for p, _ in inside), {"payments": Decimal(len(inside))}
                )
        _add_table(f, f"ttp:{rail}", total_key, found, [(b, b) for b, _, _ in BUCKETS])
        f.days[rail] = sorted(d for _, d in payments)


def percentile(sorted_days: list[int], share: float) -> int | None:
    """The nearest-rank percentile (``share`` 0.5 for the median, 0.9 for the 90th)."""
    if not sorted_days:
        return None
    return shared_percentile(sorted_days, share)
