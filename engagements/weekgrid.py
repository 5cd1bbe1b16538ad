"""The week grid's page model: hours for one consultant, a day per column.

``WeekGrid`` reads what was typed into each cell and keeps it, with an error
per cell, so a page with errors shows it again. The rules (caps, dates, who may
log) stay in ``engagements.services.contributions``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import limits
from core.money import CENT
from core.numbers import has_other_digits
from engagements.models import Activity, Contribution, Engagement
from engagements.rates import QUARTER

WEEK_RE = re.compile(r"^(\d{4})-W(\d{1,2})$")
# The page reaches a week before and after the one shown; dates stop at year 1 and 9999.
WEEK_YEARS = (1900, 9998)


def parse_week(value: str | None) -> date | None:
    """The Monday of an ISO week written 2026-W11 (what <input type=week> sends).

    None for anything else, including years outside WEEK_YEARS.
    """
    match = WEEK_RE.match((value or "").strip())
    if not match:
        return None
    year = int(match[1])
    if not WEEK_YEARS[0] <= year <= WEEK_YEARS[1]:
        return None
    try:
        return date.fromisocalendar(year, int(match[2]), 1)
    except ValueError:
        return None


# Short words for a status, to fit a grid cell; the entry's page says it in full.
SHORT_STATUS = {
    Contribution.Status.DRAFT: gettext_lazy("Draft"),
    Contribution.Status.SUBMITTED: gettext_lazy("Waiting"),
    Contribution.Status.APPROVED: gettext_lazy("Approved"),
    Contribution.Status.PAID: gettext_lazy("Paid"),
    Contribution.Status.REJECTED: gettext_lazy("Returned"),
}
ZERO = Decimal("0")


def counts(entry: Contribution) -> bool:
    """Whether an entry counts in the totals: everything but a returned entry."""
    return entry.status != Contribution.Status.REJECTED


def week_label(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class GridCell:
    name: str
    engagement: Engagement
    activity: str
    activity_label: str
    day: date
    future: bool
    raw: str = ""
    value: Decimal | None = None
    error: str = ""
    # What is already logged in this cell (returned entries too, marked as such).
    logged: list[Contribution] = field(default_factory=list)

    @property
    def logged_hours(self) -> Decimal:
        return sum((e.quantity for e in self.logged if counts(e)), ZERO)

    @property
    def label(self) -> str:
        return _("%(activity)s hours on %(day)s") % {
            "activity": self.activity_label,
            "day": date_format(self.day, "l j F"),
        }


@dataclass
class GridRow:
    activity: str
    label: str
    cells: list[GridCell]

    @property
    def total(self) -> Decimal:
        """Hours logged for this activity in the week."""
        return sum((c.logged_hours for c in self.cells), ZERO)


@dataclass
class GridBlock:
    """One engagement: an activity per row, a day per column, and one note."""

    engagement: Engagement
    rows: list[GridRow]
    note_name: str
    note: str = ""
    note_error: str = ""

    @property
    def cells(self) -> list[GridCell]:
        return [cell for row in self.rows for cell in row.cells]

    @property
    def day_totals(self) -> list[Decimal]:
        """Hours logged per day, all activities together."""
        return [
            sum((row.cells[i].logged_hours for row in self.rows), ZERO)
            for i in range(len(self.rows[0].cells) if self.rows else 0)
        ]

    @property
    def total(self) -> Decimal:
        return sum(self.day_totals, ZERO)

    @property
    def entries(self) -> list[Contribution]:
        return [e for cell in self.cells for e in cell.logged if counts(e)]

    @property
    def amount(self) -> Decimal | None:
        """The amount of what is logged: frozen where approved, else at today's rates."""
        amounts = [getattr(e, "shown_amount", None) for e in self.entries]
        if any(a is None for a in amounts):
            return None  # some rate is missing: no honest total
        return sum((a for a in amounts if a is not None), ZERO)

    @property
    def amount_is_estimate(self) -> bool:
        return any(getattr(e, "amount_is_estimate", True) for e in self.entries)


@dataclass
class WeekGrid:
    """Hours for one consultant, across their engagements, for seven days.

    Each non-empty cell becomes one entry. Parsing keeps what was typed so a
    page with errors shows it again.
    """

    monday: date
    blocks: list[GridBlock]
    days: list[date]
    errors: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, *, engagements, monday: date, today: date, logged=(), data=None):
        """``logged``: the week's hours entries (``selectors.week_logged_entries``)."""
        days = [monday + timedelta(days=i) for i in range(7)]
        by_cell: dict[tuple[int, str, date], list[Contribution]] = {}
        for entry in logged:
            entry.short_status = str(SHORT_STATUS.get(entry.status, entry.get_status_display()))
            by_cell.setdefault((entry.engagement_id, entry.activity, entry.date), []).append(entry)
        blocks = []
        for e in engagements:
            key = e.public_id.hex
            rows = []
            for activity, label in Activity.choices:
                cells = [
                    GridCell(
                        name=f"h-{key}-{activity}-{i}",
                        engagement=e,
                        activity=activity,
                        activity_label=str(label),
                        day=day,
                        future=day > today,
                        logged=by_cell.get((e.pk, activity, day), []),
                    )
                    for i, day in enumerate(days)
                ]
                rows.append(GridRow(activity=activity, label=str(label), cells=cells))
            blocks.append(
                GridBlock(
                    engagement=e,
                    rows=rows,
                    note_name=f"note-{key}",
                )
            )
        grid = cls(monday=monday, blocks=blocks, days=days)
        if data is not None:
            grid._read(data)
        return grid

    def _read(self, data) -> None:
        for block in self.blocks:
            block.note = (data.get(block.note_name) or "").strip()
            if len(block.note) > 2000:
                block.note_error = _("Keep the note under 2000 characters.")
            for cell in block.cells:
                cell.raw = (data.get(cell.name) or "").strip()
                if not cell.raw:
                    continue
                cell.value, cell.error = self._parse(cell)

    @staticmethod
    def _parse(cell: GridCell) -> tuple[Decimal | None, str]:
        text = cell.raw.replace(",", ".")
        if has_other_digits(text):
            return None, _("Use the digits 0-9.")
        if ":" in text:  # 1:30 means an hour and a half
            hours, _sep, minutes = text.partition(":")
            try:
                value = Decimal(hours or "0") + Decimal(minutes or "0") / 60
            except ArithmeticError:  # InvalidOperation, or Overflow for "1e999999999:00"
                value = None
        else:
            try:
                value = Decimal(text)
            except ArithmeticError:
                value = None
        if value is None or not value.is_finite():
            return None, _("Enter hours as a number, like 1.5 or 1:30.")
        if value <= 0:
            return None, _("Enter more than zero hours, or leave the cell empty.")
        if value > limits.hours_per_entry():
            return None, _("A day has at most %(limit)s hours.") % {
                "limit": f"{limits.hours_per_entry().normalize():f}"
            }
        # The second test stops a value so small (1e-999999999) that it reads as zero.
        if value % QUARTER != 0 or value != value.quantize(CENT):
            return None, _("Use quarter hours: 0.25, 0.5, 0.75.")
        if cell.future:
            return None, _("This day has not happened yet.")
        return value, ""

    @property
    def filled(self) -> list[GridCell]:
        return [c for b in self.blocks for c in b.cells if c.raw]

    @property
    def has_errors(self) -> bool:
        return (
            bool(self.errors)
            or any(c.error for b in self.blocks for c in b.cells)
            or any(b.note_error for b in self.blocks)
        )

    @property
    def error_cells(self) -> list[GridCell]:
        return [c for b in self.blocks for c in b.cells if c.error]

    def note_for(self, engagement: Engagement) -> str:
        for block in self.blocks:
            if block.engagement.pk == engagement.pk:
                return block.note
        return ""
