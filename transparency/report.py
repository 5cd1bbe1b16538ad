"""The published document: the figures with small cells suppressed, as canonical JSON.

The document carries no id, name or pseudonym: only the study's name, labels of
phases, activities, payment methods, quarters and buckets, and numbers. Each figure
is ``{"value": ..., "suppressed": null | "fewer_than_5" | "withheld"}``; a hidden
figure's value is null. Money and hours are strings with two places (never floats).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engagements.models import Study
from transparency import suppression
from transparency.figures import Figures, figures_for, percentile
from transparency.suppression import MINIMUM, WITHHELD

METHOD_VERSION = 2  # 2: periods never overlap; hourly/other split; mirrors; percentiles
FORMAT = "honora.transparency/1"
CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _figure(value: Any, reason: str | None) -> dict[str, Any]:
    return {"value": None if reason else value, "suppressed": reason}


class _Builder:
    def __init__(self, f: Figures, hidden: dict[str, str]):
        self.f = f
        self.hidden = hidden

    def money(self, key: str, name: str = "paid") -> dict[str, Any]:
        return _figure(_money(self.f.cells[key].values[name]), self.hidden.get(key))

    def number(self, key: str, name: str) -> dict[str, Any]:
        return _figure(int(self.f.cells[key].values[name]), self.hidden.get(key))

    def count(self, key: str, whole_key: str) -> dict[str, Any]:
        n = len(self.f.cells[key].people)
        whole = len(self.f.cells[whole_key].people)
        if key in self.hidden:
            return _figure(n, self.hidden[key])
        if n == 0:
            return _figure(0, None)
        if n < MINIMUM:
            return _figure(n, suppression.SMALL)
        return _figure(n, None if suppression.count_visible(n, whole) else WITHHELD)

    def rate(self, key: str) -> dict[str, Any]:
        cell = self.f.cells[key]
        hours = cell.values["hours"]
        if not suppression.derived_visible(self.hidden, key) or hours <= 0:
            return _figure(None, self.hidden.get(key, WITHHELD) if hours > 0 else None)
        return _figure(_money(cell.values["hourly_paid"] / hours), None)


def _counts(b: _Builder, keys: list[str], whole_key: str) -> list[dict[str, Any]]:
    """A table's counts of consultants. When every count is shown, their sum minus the
    total count is how many people are counted twice (two rows: exactly who is in
    both); if that is one to four people, the smallest count is withheld."""
    counts = [b.count(key, whole_key) for key in keys]
    shown = [(c["value"], i) for i, c in enumerate(counts) if c["suppressed"] is None]
    if len(shown) == len(counts) and shown:
        twice = sum(v for v, _ in shown) - len(b.f.cells[whole_key].people)
        if 0 < twice < MINIMUM:
            _value, smallest = min((v, i) for v, i in shown if v)
            counts[smallest] = _figure(None, WITHHELD)
    return counts


def _percentile(days: list[int], share: float, reason: str | None) -> dict[str, Any]:
    """A nearest-rank percentile is one payment's own wait: shown only when at least five
    payments lie at or below it and five at or above it, so it describes no one alone."""
    value = percentile(days, share)
    if reason is None and days:
        rank = max(1, math.ceil(share * len(days)))
        if rank < MINIMUM or len(days) - rank + 1 < MINIMUM:
            reason = WITHHELD
    return _figure(value, reason)


def build(f: Figures, *, published_at: dt.datetime | None = None) -> dict[str, Any]:
    hidden = suppression.suppress(f.cells, f.groups, links=f.links)
    b = _Builder(f, hidden)
    study = f.study

    def table(name: str) -> dict[str, Any]:
        keys = [key for key, _ in f.tables[name]]
        counts = _counts(b, keys, "paid")
        return {
            "rows": [
                {"label": label, "paid": b.money(key), "consultants": count}
                for (key, label), count in zip(f.tables[name], counts, strict=True)
            ],
            "total": b.money("paid"),
        }

    quarters = []
    quarter_counts = _counts(b, [key for key, _ in f.tables["quarter"]], "paid")
    for (key, label), (hkey, _), count in zip(
        f.tables["quarter"], f.tables["hours_quarter"], quarter_counts, strict=True
    ):
        quarters.append(
            {
                "label": label,
                "paid": b.money(key),
                "consultants": count,
                "hours": b.money(hkey, "hours"),
                "effective_hourly_rate": b.rate(hkey),
            }
        )
    time_to_pay = []
    for name, rows in f.tables.items():
        if not name.startswith("ttp:"):
            continue
        rail = name.split(":", 1)[1]
        total_key = f"rail:{rail}"
        shown = suppression.derived_visible(hidden, total_key)
        reason = hidden.get(total_key)
        days = f.days[rail]
        time_to_pay.append(
            {
                "rail": rail,
                "payments": b.number(total_key, "payments"),
                "median_days": _percentile(days, 0.5, None if shown else reason),
                "p90_days": _percentile(days, 0.9, None if shown else reason),
                "buckets": [
                    {"label": label, "payments": b.number(key, "payments")} for key, label in rows
                ],
            }
        )
    doc: dict[str, Any] = {
        "format": FORMAT,
        "method_version": METHOD_VERSION,
        "minimum_cell": MINIMUM,
        "study": {
            "name": study.name,
            "currency": study.currency,
            "hourly_rate_floor": _money(study.hourly_rate_floor),
        },
        "period_start": f.start.isoformat() if f.start else None,
        "period_end": f.end.isoformat(),
        "summary": {
            "paid": b.money("paid"),
            "hours": b.money("hours", "hours"),
            "consultants": b.count("paid", "paid"),
            "effective_hourly_rate": b.rate("hours"),
        },
        "by_phase": table("phase"),
        "by_activity": table("activity"),
        "by_method": table("method"),
        "by_quarter": {
            "rows": quarters,
            "total_paid": b.money("paid"),
            "total_hours": b.money("hours", "hours"),
        },
        "time_to_pay": time_to_pay,
    }
    if published_at is not None:
        doc["published_at"] = published_at.isoformat()
    return doc


def report_for(
    study: Study,
    end: dt.date,
    *,
    start: dt.date | None = None,
    published_at: dt.datetime | None = None,
) -> dict[str, Any]:
    return build(figures_for(study, end, start), published_at=published_at)


def canonical(doc: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the exact bytes that are hashed and downloaded."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
