"""CSV import of historical contributions.

Import reads a spreadsheet, checks every row, and writes only through
``engagements.services.imports.contributions_import``, all or nothing. A dry run
runs the very same import and rolls it back, so a file that passes the dry run
imports. (CSV export lives in ``core.csv`` and ``engagements.exports``.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from consultants.models import Consultant
from core.errors import DomainError
from core.money import round_money
from core.numbers import has_other_digits, size_at_least
from engagements.models import Activity, Contribution, Engagement
from engagements.rates import RATE_KIND_FOR, rate_in_force
from engagements.services.checks import MAX_AMOUNT, MAX_QUANTITY
from engagements.services.imports import ImportRefused, ImportRow, contributions_import

# --- import -----------------------------------------------------------------------

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 5000

# column -> required?
IMPORT_COLUMNS = {
    "consultant": True,
    "study": False,
    "phase": False,
    "role": False,
    "engagement": False,
    "date": True,
    "kind": True,
    "activity": True,
    "quantity": False,
    "amount": False,
    "description": False,
    "status": False,
}
HEADER_ALIASES = {
    "consultant_id": "consultant",
    "consultant_name": "consultant",
    "display_name": "consultant",
    "engagement_id": "engagement",
    "hours": "quantity",
    "amount_spent": "amount",
    "date_of_the_work": "date",
    "notes": "description",
}
KIND_WORDS = {
    "hours": Contribution.Kind.HOURS,
    "hour": Contribution.Kind.HOURS,
    "honorarium": Contribution.Kind.HONORARIUM,
    "honoraria": Contribution.Kind.HONORARIUM,
    "reimbursement": Contribution.Kind.REIMBURSEMENT,
    "reimbursements": Contribution.Kind.REIMBURSEMENT,
}
STATUS_WORDS = {"": "submitted", "submitted": "submitted", "approved": "approved"}


def _normal(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", (text or "").strip().lower())


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except (ValueError, AttributeError):
        return None


def _parse_date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    return None


def _parse_decimal(text: str) -> Decimal | None:
    text = text.strip().replace("$", "").replace(",", "")
    if has_other_digits(text):
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _parse_number(
    raw: str, *, limit: Decimal, not_a_number: str, too_large: str, errors: list[str]
) -> Decimal | None:
    """``raw`` as a Decimal below ``limit`` in size, else None with the reason in ``errors``.

    The size is checked before any arithmetic: rounding 1e30 to cents raises.
    """
    if has_other_digits(raw):
        errors.append(not_a_number % raw + " " + _("Use the digits 0-9."))
        return None
    value = _parse_decimal(raw)
    if value is None:
        errors.append(not_a_number % raw)
    elif size_at_least(value, limit):  # not abs(): it raises Overflow for 1e999999999
        errors.append(too_large % raw)
        value = None
    return value


@dataclass
class RowReport:
    number: int  # 1-based data row
    line: int  # line of the file (the header is line 1)
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    row: ImportRow | None = None
    marked_approved: bool = False

    @property
    def summary(self) -> str:
        v = self.values
        parts = [v.get("consultant", ""), v.get("date", ""), v.get("kind", "")]
        amount = v.get("quantity") or v.get("amount") or ""
        return " · ".join(p for p in [*parts, amount] if p)


@dataclass
class ImportReport:
    header_errors: list[str] = field(default_factory=list)
    rows: list[RowReport] = field(default_factory=list)
    imported: int = 0

    @property
    def clean(self) -> bool:
        return not self.header_errors and bool(self.rows) and not self.error_rows

    @property
    def error_rows(self) -> list[RowReport]:
        return [r for r in self.rows if r.errors]

    @property
    def warning_rows(self) -> list[RowReport]:
        return [r for r in self.rows if r.warnings and not r.errors]

    @property
    def approved_marked(self) -> int:
        return sum(1 for r in self.rows if r.marked_approved)


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _read_table(content: bytes, report: ImportReport) -> tuple[list[str], list[list[str]]]:
    if len(content) > MAX_IMPORT_BYTES:
        report.header_errors.append(_("The file is larger than 1 MB. Split it into smaller files."))
        return [], []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.header_errors.append(
            _("The file is not UTF-8 text. In your spreadsheet choose Save as, CSV UTF-8.")
        )
        return [], []
    if not text.strip():
        report.header_errors.append(_("The file is empty."))
        return [], []
    # The sniffer only picks the delimiter; the rest is the standard dialect
    # (RFC 4180: quotes doubled inside quoted cells), whatever it guessed.
    try:
        delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        table = list(csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter))
    except csv.Error as exc:
        report.header_errors.append(_("The file could not be read as CSV: %s") % exc)
        return [], []
    return table[0], table[1:]


def _check_header(raw_header: list[str], report: ImportReport) -> list[str]:
    header = [HEADER_ALIASES.get(_normal(h), _normal(h)) for h in raw_header]
    seen = set()
    for raw, name in zip(raw_header, header, strict=True):
        if not name:
            continue
        if name not in IMPORT_COLUMNS:
            report.header_errors.append(
                _("Unknown column “%(column)s”. The columns are: %(known)s.")
                % {"column": raw.strip(), "known": ", ".join(IMPORT_COLUMNS)}
            )
        elif name in seen:
            report.header_errors.append(
                _("The column “%(column)s” appears twice.") % {"column": raw.strip()}
            )
        seen.add(name)
    for name, required in IMPORT_COLUMNS.items():
        if required and name not in seen:
            report.header_errors.append(_("The column “%(column)s” is missing.") % {"column": name})
    if "engagement" not in seen and "phase" not in seen:
        report.header_errors.append(
            _("Add a “phase” column (with “role” where needed) or an “engagement” column.")
        )
    return header


class _Lookups:
    """Consultants and engagements the file names, each loaded in one query."""

    def __init__(self, rows: list[dict[str, str]]):
        names = {r.get("consultant", "").strip() for r in rows} - {""}
        ids = {u for u in (_as_uuid(n) for n in names) if u}
        words = {n.lower() for n in names if not _as_uuid(n)}
        self.by_id: dict[uuid.UUID, Consultant] = {}
        self.by_name: dict[str, list[Consultant]] = {}
        candidates = Consultant.objects.only("public_id", "display_name", "status")
        for c in candidates.filter(public_id__in=ids):
            self.by_id[c.public_id] = c
        if words:
            # Display names are compared without case; a name shared by two people
            # is refused rather than guessed.
            for c in candidates.all().iterator():
                if c.display_name.lower() in words:
                    self.by_name.setdefault(c.display_name.lower(), []).append(c)
        consultant_pks = {c.pk for c in self.by_id.values()} | {
            c.pk for group in self.by_name.values() for c in group
        }
        engagement_ids = {
            u for u in (_as_uuid(r.get("engagement", "")) for r in rows) if u is not None
        }
        self.engagements: list[Engagement] = list(
            Engagement.objects.filter(consultant_id__in=consultant_pks).select_related(
                "phase__study", "rate_card", "consultant"
            )
        )
        known = {e.public_id for e in self.engagements}
        missing = engagement_ids - known
        if missing:
            self.engagements += list(
                Engagement.objects.filter(public_id__in=missing).select_related(
                    "phase__study", "rate_card", "consultant"
                )
            )

    def consultant(self, text: str, errors: list[str]) -> Consultant | None:
        text = text.strip()
        if not text:
            errors.append(_("The consultant is missing."))
            return None
        as_id = _as_uuid(text)
        if as_id:
            found = self.by_id.get(as_id)
            if not found:
                errors.append(_("No consultant has the id %(id)s.") % {"id": text})
            return found
        group = self.by_name.get(text.lower(), [])
        if not group:
            errors.append(_("No consultant is called “%(name)s”.") % {"name": text})
            return None
        if len(group) > 1:
            errors.append(
                _("More than one consultant is called “%(name)s”; use their id instead.")
                % {"name": text}
            )
            return None
        return group[0]

    def engagement(self, consultant: Consultant, values: dict, errors: list[str]):
        given = values.get("engagement", "").strip()
        if given:
            as_id = _as_uuid(given)
            match = [e for e in self.engagements if as_id and e.public_id == as_id]
            if not match:
                errors.append(_("No engagement has the id %(id)s.") % {"id": given})
                return None
            if match[0].consultant_id != consultant.pk:
                errors.append(_("That engagement belongs to another consultant."))
                return None
            return match[0]
        phase = values.get("phase", "").strip().lower()
        study = values.get("study", "").strip().lower()
        role = values.get("role", "").strip().lower()
        if not phase:
            errors.append(_("Give the phase, or the engagement id."))
            return None
        match = [
            e
            for e in self.engagements
            if e.consultant_id == consultant.pk
            and e.phase.name.lower() == phase
            and (not study or e.phase.study.name.lower() == study)
            and (not role or e.role.lower() == role)
        ]
        if not match:
            errors.append(
                _("%(name)s has no engagement in the phase “%(phase)s”%(role)s.")
                % {
                    "name": consultant.display_name,
                    "phase": values.get("phase", "").strip(),
                    "role": (_(" as “%s”") % values.get("role", "").strip()) if role else "",
                }
            )
            return None
        if len(match) > 1:
            errors.append(
                _("%(name)s has more than one engagement there; add the role or the study.")
                % {"name": consultant.display_name}
            )
            return None
        return match[0]


def _choice(text: str, words: dict, errors: list[str], message: str):
    value = words.get(_normal(text))
    if value is None:
        errors.append(message)
    return value


def _parse_row(report: RowReport, lookups: _Lookups) -> None:
    v, errors = report.values, report.errors
    consultant = lookups.consultant(v.get("consultant", ""), errors)
    engagement = lookups.engagement(consultant, v, errors) if consultant else None

    work_date = _parse_date(v.get("date", ""))
    if work_date is None:
        errors.append(
            _("The date “%(date)s” is not a date; write 2026-03-12 or 03/12/2026.")
            % {"date": v.get("date", "")}
        )
    kind = _choice(
        v.get("kind", ""),
        KIND_WORDS,
        errors,
        _("The kind must be hours, honorarium or reimbursement."),
    )
    activities = {_normal(value): value for value in Activity.values}
    activities.update({_normal(str(label)): value for value, label in Activity.choices})
    activity = _choice(
        v.get("activity", ""),
        activities,
        errors,
        _("The activity must be one of: %s.") % ", ".join(Activity.values),
    )
    status = _choice(
        v.get("status", ""),
        STATUS_WORDS,
        errors,
        _("The status must be approved or submitted (or left empty)."),
    )
    report.marked_approved = status == "approved"

    quantity = claimed = None
    raw_quantity, raw_amount = v.get("quantity", "").strip(), v.get("amount", "").strip()
    if raw_quantity:
        quantity = _parse_number(
            raw_quantity,
            limit=MAX_QUANTITY,
            not_a_number=_("The quantity “%s” is not a number."),
            too_large=_("The quantity “%s” is too large."),
            errors=errors,
        )
    if raw_amount:
        claimed = _parse_number(
            raw_amount,
            limit=MAX_AMOUNT,
            not_a_number=_("The amount “%s” is not a number."),
            too_large=_("The amount “%s” is too large."),
            errors=errors,
        )
    if kind == Contribution.Kind.REIMBURSEMENT:
        if not raw_amount:
            errors.append(_("A reimbursement needs the amount spent."))
        if quantity is not None and quantity != 1:
            errors.append(_("Leave the quantity empty (or 1) for a reimbursement."))
        quantity = None
    elif kind is not None:
        if not raw_quantity:
            errors.append(_("Give the quantity (hours, or the number of honoraria)."))
        rate = None
        if engagement and work_date and activity:
            rate = rate_in_force(
                rate_card=engagement.rate_card,
                activity=activity,
                kind=RATE_KIND_FOR[kind],
                on=work_date,
            )
            if rate is None:
                report.warnings.append(
                    _("The rate card has no rate for this on that date; add one before approving.")
                )
        # The amount is set by the rate card on approval; a file that disagrees is
        # stopped here rather than silently repriced.
        if rate is not None and claimed is not None and quantity is not None:
            expected = round_money(quantity * rate.amount)
            if expected != round_money(claimed):
                errors.append(
                    _(
                        "The file says %(file)s but the rate card gives %(card)s for this row; "
                        "correct the file or the rate card."
                    )
                    % {"file": round_money(claimed), "card": expected}
                )
        claimed = None
    description = v.get("description", "").strip()
    if len(description) > 2000:
        errors.append(_("Keep the description under 2000 characters."))
    if errors:
        return
    note = _("Imported from a spreadsheet, row %(row)d") % {"row": report.number}
    if report.marked_approved:
        note += "; " + _("marked approved in the spreadsheet")
    report.row = ImportRow(
        number=report.number,
        engagement=engagement,
        kind=kind,
        activity=activity,
        date=work_date,
        quantity=quantity,
        claimed_amount=claimed,
        description=description,
        note=note,
    )


def _warn_duplicates(reports: list[RowReport]) -> None:
    rows = [r.row for r in reports if r.row is not None]
    if not rows:
        return
    existing = set(
        Contribution.objects.filter(
            engagement__in={r.engagement.pk for r in rows},
            date__in={r.date for r in rows},
            adjusts__isnull=True,
        )
        .exclude(status=Contribution.Status.REJECTED)
        .values_list("engagement_id", "date", "kind", "activity", "quantity", "claimed_amount")
    )
    for report in reports:
        r = report.row
        if r is None:
            continue
        quantity = Decimal("1.00") if r.kind == Contribution.Kind.REIMBURSEMENT else r.quantity
        key = (r.engagement.pk, r.date, r.kind, r.activity)
        for other in existing:
            if other[:4] == key and other[4] == quantity and other[5] == r.claimed_amount:
                report.warnings.append(
                    _("An entry with the same date, activity and quantity is already in Honora.")
                )
                break


class _DryRun(Exception):
    pass


def run_import(*, content: bytes, by, commit: bool) -> ImportReport:
    """Check every row of ``content`` and, if ``commit`` and all is well, import it.

    Without ``commit`` nothing is kept: the rows go through the same services
    inside a transaction that is always rolled back.
    """
    report = ImportReport()
    raw_header, table = _read_table(content, report)
    if report.header_errors:
        return report
    header = _check_header(raw_header, report)
    data_rows = []
    for number, cells in enumerate(table, start=1):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are skipped, but keep their numbers
        values = {
            name: (cells[i] if i < len(cells) else "")
            for i, name in enumerate(header)
            if name in IMPORT_COLUMNS
        }
        data_rows.append(RowReport(number=number, line=number + 1, values=values))
    if len(data_rows) > MAX_IMPORT_ROWS:
        report.header_errors.append(
            _("The file has more than %(max)d rows. Split it into smaller files.")
            % {"max": MAX_IMPORT_ROWS}
        )
    if not data_rows:
        report.header_errors.append(_("The file has a header but no rows."))
    if report.header_errors:
        return report
    report.rows = data_rows
    lookups = _Lookups([r.values for r in data_rows])
    for row in data_rows:
        _parse_row(row, lookups)
    _warn_duplicates(data_rows)

    ready = [r.row for r in data_rows if r.row is not None]
    if not ready:
        return report
    by_number = {r.number: r for r in data_rows}
    try:
        with transaction.atomic():
            created = contributions_import(by=by, rows=ready)
            if not (commit and report.clean):
                raise _DryRun
    except _DryRun:
        return report
    except ImportRefused as exc:
        for number, message in exc.errors.items():
            by_number[number].errors.append(message)
        return report
    except DomainError as exc:
        report.header_errors.append(exc.message)
        return report
    report.imported = len(created)
    return report


IMPORT_TEMPLATE_HEADER = list(IMPORT_COLUMNS)
