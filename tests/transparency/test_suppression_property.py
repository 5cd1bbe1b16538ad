"""Property tests of the report's small-cell suppression.

Pure layer: generated tables of cells (who, how much) go through ``suppress``; no
figure left visible, and no difference of visible figures, describes one to four
people. Database layer: generated studies are paid in the real database, the
report is built, and each visible figure is checked against the database's own
aggregate (computed here with the ORM), and each hidden one against the rules.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import Decimal

import pytest
from django.db.models import Min, Sum
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engagements.models import Contribution
from payments.models import Payment, PaymentItem
from tests.factories import UserFactory
from tests.transparency.build import at, consultants, pay, study_with_phases
from transparency import suppression
from transparency.figures import quarter_label
from transparency.report import report_for
from transparency.suppression import MINIMUM, Cell, Group

# --- the pure layer ----------------------------------------------------------------

contributions = st.lists(
    st.tuples(
        st.integers(0, 11),  # consultant
        st.integers(0, 5),  # category
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900"), places=2),
    ),
    min_size=1,
    max_size=40,
)


def _table(rows, categories=6):
    cells = {}
    for cat in range(categories):
        mine = [r for r in rows if r[1] == cat]
        cells[f"c{cat}"] = Cell(
            f"c{cat}",
            frozenset(r[0] for r in mine),
            {"paid": sum((r[2] for r in mine), Decimal(0))},
        )
    cells["total"] = Cell(
        "total", frozenset(r[0] for r in rows), {"paid": sum((r[2] for r in rows), Decimal(0))}
    )
    return cells, Group("g", tuple(f"c{c}" for c in range(categories)), "total")


def assert_group_protected(group, cells, hidden):
    """No shown cell, and no difference of the total and the shown cells, is small.

    Checked as if the total were known even when it is hidden (another table with
    the same total might show it).
    """
    members = [cells[k] for k in group.members]
    for c in members:
        if c.key not in hidden:
            assert len(c.people) == 0 or len(c.people) >= MINIMUM, c
    gone = [c for c in members if c.key in hidden]
    if not gone:
        return
    union = frozenset().union(*(c.people for c in gone))
    if len(union) < MINIMUM:
        # Only when nothing could be hidden any more: every non-empty cell is.
        assert group.total in hidden
        assert all(c.key in hidden for c in members if c.people)
        return
    for name, whole in cells[group.total].values.items():
        left = whole - sum((c.values[name] for c in members if c.key not in hidden), Decimal(0))
        assert all(c.values[name] != left for c in gone), (name, left)


@settings(deadline=None, max_examples=300)
@given(contributions, st.integers(1, 5))
def test_no_small_cell_can_be_worked_out(rows, shift):
    cells, by_category = _table(rows)
    # A second table over the same rows (so the same total), as by phase and by method.
    regrouped, _ = _table([(p, (c * shift + p) % 6, a) for p, c, a in rows])
    every = dict(cells)
    every.update(
        {f"m{k}": Cell(f"m{k}", c.people, c.values) for k, c in regrouped.items() if k != "total"}
    )
    by_other = Group("m", tuple(f"mc{c}" for c in range(6)), "total")
    hidden = suppression.suppress(every, [by_category, by_other])
    for g in (by_category, by_other):
        assert_group_protected(g, every, hidden)
    # Every small cell is hidden as small; the others, if hidden, as withheld.
    for k, c in every.items():
        expected = suppression.SMALL if 0 < len(c.people) < MINIMUM else suppression.WITHHELD
        if k in hidden:
            assert hidden[k] == expected
        else:
            assert expected == suppression.WITHHELD


@settings(deadline=None, max_examples=200)
@given(st.integers(0, 40), st.integers(0, 40))
def test_a_count_never_reveals_the_people_outside_it(n, extra):
    whole = n + extra
    if suppression.count_visible(n, whole):
        assert n >= MINIMUM
        assert whole - n == 0 or whole - n >= MINIMUM


# --- the database layer ------------------------------------------------------------

ACTIVITIES = ("work", "meeting", "preparation")
METHODS = ("stripe", "check", "cash")
KINDS = ("hours", "hours", "honorarium", "reimbursement")

payments_spec = st.lists(
    st.tuples(
        st.integers(0, 11),  # consultant
        st.integers(0, 2),  # phase
        st.sampled_from(ACTIVITIES),
        st.sampled_from(METHODS),
        st.integers(0, 3),  # quarter of 2025
        st.integers(100, 40000),  # cents
        st.sampled_from(KINDS),
        st.integers(0, 80),  # days from approval to payment
        st.integers(1, 32),  # quarter hours
    ),
    min_size=1,
    max_size=30,
)
_studies = itertools.count()


def _true_table(items, key):
    """{row label: (people, paid)} from the ORM, grouped in Python by ``key(item)``."""
    out: dict[str, tuple[set, Decimal]] = {}
    for item in items:
        people, paid = out.get(key(item), (set(), Decimal(0)))
        people.add(item.payment.consultant_id)
        out[key(item)] = (people, paid + item.amount)
    return out


def _check_table(rows, truth, whole_people, whole_paid, label_of=lambda r: r["label"]):
    """Visible figures equal the database; hidden ones cannot be worked out."""
    shown_sum = Decimal(0)
    gone = []
    for r in rows:
        people, paid = truth.get(label_of(r), (set(), Decimal(0)))
        fig = r["paid"]
        if fig["suppressed"] is None:
            assert Decimal(fig["value"]) == paid
            assert len(people) == 0 or len(people) >= MINIMUM
            shown_sum += paid
        else:
            assert fig["value"] is None
            gone.append((people, paid))
        count = r["consultants"]
        if count["suppressed"] is None:
            assert count["value"] == len(people)
            rest = len(whole_people) - len(people)
            assert count["value"] == 0 or (rest == 0 or rest >= MINIMUM)
        else:
            assert count["value"] is None
    if gone:
        union = set().union(*(p for p, _ in gone))
        if len(union) < MINIMUM:
            assert len(whole_people) < MINIMUM  # the whole table is about fewer than 5
        else:
            left = whole_paid - shown_sum
            assert all(paid != left for _, paid in gone)


def _check_hourly_split(doc, items):
    """Hours times the published rate is the hourly pay, so paid minus that is the other
    pay: a row shows hours and rate only when its other pay describes nobody or five
    people or more, and only when its own pay is shown (else that pay is rebuilt)."""
    rows = [("summary", doc["summary"], items)] + [
        (
            r["label"],
            r,
            [i for i in items if quarter_label(i.payment.paid_at) == r["label"]],
        )
        for r in doc["by_quarter"]["rows"]
    ]
    for label, row, mine in rows:
        other = {i.payment.consultant_id for i in mine if i.contribution.kind != "hours"}
        hourly = [i for i in mine if i.contribution.kind == "hours"]
        if row["effective_hourly_rate"]["value"] is not None:
            assert not 0 < len(other) < MINIMUM, label
            assert row["paid"]["suppressed"] is None, label
            if len(other) == 0:
                # The whole row is hourly pay: its hourly people are its people.
                assert len({i.payment.consultant_id for i in hourly}) >= MINIMUM, label


def test_hours_and_rate_never_reveal_a_small_group_paid_otherwise(db):
    """The reviewer's case: honoraria of three people are paid minus hours times the
    rate, and a withheld quarter is rebuilt from its hours and rate. Neither may be."""
    logger = UserFactory(roles=["coordinator"])
    approver = UserFactory(roles=["coordinator"])
    study = study_with_phases("Estudio de mezcla", 1)
    phase = study.phases.get()
    people = consultants(12, prefix="Mezcla")

    def hours(who, quarter, amount):
        paid_at = at(2025, quarter * 3 + 1, 15)
        pay(
            consultant=people[who],
            lines=[
                {
                    "phase": phase,
                    "kind": "hours",
                    "activity": "work",
                    "quantity": Decimal(amount) / 25,
                    "amount": Decimal(amount),
                    "approved_at": paid_at - dt.timedelta(days=3),
                }
            ],
            method="check",
            paid_at=paid_at,
            logger=logger,
            approver=approver,
        )

    for who in range(7):
        hours(who, 0, 500)
    for who in range(5):
        hours(who, 1, 700)
    for who in range(5, 8):  # three people paid only honoraria, in Q2
        paid_at = at(2025, 4, 15)
        pay(
            consultant=people[who],
            lines=[
                {
                    "phase": phase,
                    "kind": "honorarium",
                    "activity": "meeting",
                    "quantity": Decimal(1),
                    "amount": Decimal(300),
                    "approved_at": paid_at - dt.timedelta(days=3),
                }
            ],
            method="check",
            paid_at=paid_at,
            logger=logger,
            approver=approver,
        )
    for who in range(2):
        hours(who, 2, 500)
    doc = report_for(study, dt.date(2025, 12, 31))
    items = list(
        PaymentItem.objects.filter(
            live=True, payment__status="paid", contribution__engagement__phase__study=study
        ).select_related("payment", "contribution")
    )
    _check_hourly_split(doc, items)
    summary = doc["summary"]
    assert summary["effective_hourly_rate"]["value"] is None  # 3 paid otherwise
    q = {r["label"]: r for r in doc["by_quarter"]["rows"]}
    assert q["2025-Q3"]["paid"]["suppressed"] == "fewer_than_5"
    # No quarter's pay is hidden while its hours and rate give it away.
    for r in q.values():
        if r["paid"]["suppressed"]:
            assert r["effective_hourly_rate"]["value"] is None


@pytest.mark.django_db
@settings(
    deadline=None,
    max_examples=15,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # Each example pays a study in the database: a failure is reported as found, not
    # shrunk for minutes (its seed reproduces it).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(spec=payments_spec)
def test_published_figures_match_the_database_and_hide_small_cells(spec):
    n = next(_studies)
    logger = UserFactory(roles=["coordinator"])
    approver = UserFactory(roles=["coordinator"])
    study = study_with_phases(f"Estudio {n}", 3)
    people = consultants(12, prefix=f"Seudónimo {n}")
    phases = list(study.phases.order_by("position"))
    for who, phase, activity, method, quarter, cents, kind, lag, quarters in spec:
        paid_at = at(2025, quarter * 3 + 1, 15)
        amount = Decimal(cents) / 100
        quantity = Decimal(quarters) / 4 if kind == "hours" else Decimal(1)
        pay(
            consultant=people[who],
            lines=[
                {
                    "phase": phases[phase],
                    "kind": kind,
                    "activity": activity,
                    "quantity": quantity,
                    "amount": amount,
                    "approved_at": paid_at - dt.timedelta(days=lag),
                }
            ],
            method=method,
            paid_at=paid_at,
            logger=logger,
            approver=approver,
        )
    doc = report_for(study, dt.date(2025, 12, 31))

    items = list(
        PaymentItem.objects.filter(
            live=True,
            payment__status=Payment.Status.PAID,
            contribution__engagement__phase__study=study,
            contribution__kind__in=["hours", "honorarium"],
        ).select_related("payment", "contribution__engagement__phase")
    )
    whole_people = {i.payment.consultant_id for i in items}
    whole_paid = sum((i.amount for i in items), Decimal(0))
    assert whole_paid == (
        PaymentItem.objects.filter(pk__in=[i.pk for i in items]).aggregate(s=Sum("amount"))["s"]
        or Decimal(0)
    )
    summary = doc["summary"]
    if len(whole_people) >= MINIMUM:
        assert Decimal(summary["paid"]["value"]) == whole_paid
        assert summary["consultants"]["value"] == len(whole_people)
    elif whole_people:
        assert summary["paid"]["value"] is None and summary["consultants"]["value"] is None
    else:  # nobody paid: a true zero describes no one and is shown
        assert summary["paid"]["value"] == "0.00" and summary["consultants"]["value"] == 0

    tables = {
        "by_phase": lambda i: i.contribution.engagement.phase.name,
        "by_activity": lambda i: i.contribution.activity,
        "by_method": lambda i: i.payment.method,
    }
    for name, key in tables.items():
        _check_table(doc[name]["rows"], _true_table(items, key), whole_people, whole_paid)
        # Each table adds up to the same published total.
        assert doc[name]["total"] == summary["paid"]
    _check_table(
        doc["by_quarter"]["rows"],
        _true_table(items, lambda i: quarter_label(i.payment.paid_at)),
        whole_people,
        whole_paid,
    )

    # Hours and the effective rate: the hourly entries only.
    hourly = [i for i in items if i.contribution.kind == Contribution.Kind.HOURS]
    hourly_people = {i.payment.consultant_id for i in hourly}
    hours = sum((i.contribution.quantity for i in hourly), Decimal(0))
    hourly_paid = sum((i.amount for i in hourly), Decimal(0))
    if summary["hours"]["suppressed"] is None:
        assert len(hourly_people) == 0 or len(hourly_people) >= MINIMUM
        assert Decimal(summary["hours"]["value"]) == hours
        if hours:
            rate = (hourly_paid / hours).quantize(Decimal("0.01"))
            assert Decimal(summary["effective_hourly_rate"]["value"]) == rate
    else:
        assert summary["effective_hourly_rate"]["value"] is None
    for r in doc["by_quarter"]["rows"]:
        mine = [i for i in hourly if quarter_label(i.payment.paid_at) == r["label"]]
        who = {i.payment.consultant_id for i in mine}
        if r["hours"]["suppressed"] is None:
            assert len(who) == 0 or len(who) >= MINIMUM
            assert Decimal(r["hours"]["value"]) == sum(
                (i.contribution.quantity for i in mine), Decimal(0)
            )
        else:
            assert r["effective_hourly_rate"]["value"] is None
    _check_hourly_split(doc, items)

    # Time to pay, per rail: each payment's whole days from its first approval, computed
    # here; visible buckets and medians equal them, hidden buckets cannot be worked out.
    bounds = {
        "0-7": (0, 7),
        "8-14": (8, 14),
        "15-30": (15, 30),
        "31-60": (31, 60),
        "61+": (61, 10**6),
    }
    for t in doc["time_to_pay"]:
        rail_payments = (
            Payment.objects.filter(
                status=Payment.Status.PAID,
                rail=t["rail"],
                items__contribution__engagement__phase__study=study,
            )
            .annotate(first=Min("items__contribution__approved_at"))
            .values_list("consultant_id", "paid_at", "first")
        )
        days = [(who, (paid - first).days) for who, paid, first in rail_payments]
        everyone = {who for who, _ in days}
        if t["payments"]["suppressed"] is None:
            assert t["payments"]["value"] == len(days)
            assert len(everyone) >= MINIMUM
            ordered = sorted(d for _, d in days)
            # A percentile is one payment's wait: shown only with five payments each side.
            for name, share in (("median_days", 0.5), ("p90_days", 0.9)):
                rank = max(1, math.ceil(len(ordered) * share))
                if rank >= MINIMUM and len(ordered) - rank + 1 >= MINIMUM:
                    assert t[name]["value"] == ordered[rank - 1]
                else:
                    assert t[name] == {"value": None, "suppressed": "withheld"}
        else:
            assert t["median_days"]["value"] is None and t["p90_days"]["value"] is None
        shown = 0
        gone = []
        for b in t["buckets"]:
            low, high = bounds[b["label"]]
            inside = [(who, d) for who, d in days if low <= d <= high]
            who = {w for w, _ in inside}
            if b["payments"]["suppressed"] is None:
                assert b["payments"]["value"] == len(inside)
                assert len(who) == 0 or len(who) >= MINIMUM
                shown += len(inside)
            else:
                assert b["payments"]["value"] is None
                gone.append((who, len(inside)))
        if gone:
            union = set().union(*(w for w, _ in gone))
            if len(union) >= MINIMUM:
                assert all(n != len(days) - shown for _, n in gone)
            else:
                assert len(everyone) < MINIMUM
