"""The published document in the reader's language: labels translated, nothing added."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from consultants.models import PayoutMethod
from engagements.models import Activity
from payments.models import Rail

BUCKET_WORDS = {
    "0-7": lambda: _("0 to 7 days"),
    "8-14": lambda: _("8 to 14 days"),
    "15-30": lambda: _("15 to 30 days"),
    "31-60": lambda: _("31 to 60 days"),
    "61+": lambda: _("more than 60 days"),
}


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def for_reading(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with each row's ``label`` in words (the codes stay in the JSON)."""
    shown = dict(doc)
    shown["by_activity"] = {
        **doc["by_activity"],
        "rows": [{**r, "label": _label(Activity, r["label"])} for r in doc["by_activity"]["rows"]],
    }
    shown["by_method"] = {
        **doc["by_method"],
        "rows": [
            {**r, "label": _label(PayoutMethod, r["label"])} for r in doc["by_method"]["rows"]
        ],
    }
    shown["time_to_pay"] = [
        {
            **t,
            "rail_label": _label(Rail, t["rail"]),
            "buckets": [
                {**b, "label": BUCKET_WORDS.get(b["label"], lambda b=b: b["label"])()}
                for b in t["buckets"]
            ],
        }
        for t in doc["time_to_pay"]
    ]
    return shown


def csv_rows(doc: dict[str, Any]) -> list[list[Any]]:
    """One line per figure: table, row, measure, value, why it is not shown."""
    rows: list[list[Any]] = []

    def add(table: str, row: str, measure: str, fig: dict[str, Any]) -> None:
        rows.append([table, row, measure, fig["value"], fig["suppressed"] or ""])

    for measure, fig in sorted(doc["summary"].items()):
        add("summary", "", measure, fig)
    for table in ("by_phase", "by_activity", "by_method"):
        for r in doc[table]["rows"]:
            add(table, r["label"], "paid", r["paid"])
            add(table, r["label"], "consultants", r["consultants"])
        add(table, "total", "paid", doc[table]["total"])
    for r in doc["by_quarter"]["rows"]:
        for measure in ("paid", "consultants", "hours", "effective_hourly_rate"):
            add("by_quarter", r["label"], measure, r[measure])
    for t in doc["time_to_pay"]:
        add("time_to_pay", t["rail"], "payments", t["payments"])
        add("time_to_pay", t["rail"], "median_days", t["median_days"])
        add("time_to_pay", t["rail"], "p90_days", t["p90_days"])
        for b in t["buckets"]:
            add("time_to_pay", f"{t['rail']} {b['label']}", "payments", b["payments"])
    return rows
