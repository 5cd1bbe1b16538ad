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
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from consultants.models import Consultant
from core.errors import DomainError
from core.money import round_money
from core.numbers import has_other_digits, size_at_least
from engagements.models import Activity, Contribution, Engagement, Rate
from engagements.rates import RATE_KIND_FOR, pick_rate
from engagements.services.checks import MAX_AMOUNT, MAX_QUANTITY
from engagements.services.imports import ImportRow, contributions_import_chunk

# --- import -----------------------------------------------------------------------

# Far above any real study's file (a national study logs some tens of thousands of
# entries a year), and low enough that a mistaken upload is refused at once.
MAX_IMPORT_ROWS = 200_000
MAX_IMPORT_BYTES = 64 * 1024 * 1024
# Rows checked and written together: each chunk costs a constant number of queries.
CHUNK_ROWS = 1000
# Rows with an error or a warning listed on the page (the others are counted).
MAX_REPORTED_ROWS = 5000


def too_large_message() -> str:
    return _("The file is larger than %(size)s. Split it into smaller files.") % {
        "size": filesizeformat(MAX_IMPORT_BYTES)
    }


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
    """What an import found: counts for every row, and the rows to show.

    A file is read chunk by chunk. A file of up to ``MAX_REPORTED_ROWS`` rows
    keeps every row in ``rows``; a larger one keeps only the rows with an error
    or a warning (up to ``MAX_REPORTED_ROWS`` of them; the rest are counted in
    ``unreported``), so memory does not grow with the file.
    """

    header_errors: list[str] = field(default_factory=list)
    rows: list[RowReport] = field(default_factory=list)
    imported: int = 0
    row_count: int = 0  # every data row read (blank lines aside)
    error_count: int = 0  # rows with at least one error
    approved_marked: int = 0
    unreported: int = 0  # rows with an error or a warning beyond those kept

    @property
    def clean(self) -> bool:
        return not self.header_errors and bool(self.row_count) and not self.error_count

    @property
    def error_rows(self) -> list[RowReport]:
        return [r for r in self.rows if r.errors]

    @property
    def warning_rows(self) -> list[RowReport]:
        return [r for r in self.rows if r.warnings and not r.errors]

    def keep(self, row: RowReport) -> None:
        """Count ``row`` (checked), and keep it while the report may hold it."""
        self.row_count += 1
        self.error_count += bool(row.errors)
        self.approved_marked += row.marked_approved
        row.row = None  # its engagement is no longer needed
        if self.row_count == MAX_REPORTED_ROWS + 1:
            # A large file: from here on, only the rows with something to say.
            self.rows = [r for r in self.rows if r.errors or r.warnings]
        if self.row_count <= MAX_REPORTED_ROWS:
            self.rows.append(row)
        elif row.errors or row.warnings:
            if len(self.rows) < MAX_REPORTED_ROWS:
                self.rows.append(row)
            else:
                self.unreported += 1

    def as_json(self) -> dict:
        """The report as JSON (what a background import keeps for its page)."""
        return {
            "header_errors": self.header_errors,
            "rows": [
                {
                    "number": r.number,
                    "line": r.line,
                    "values": r.values,
                    "errors": r.errors,
                    "warnings": r.warnings,
                    "approved": r.marked_approved,
                }
                for r in self.rows
                if r.errors or r.warnings
            ],
            "imported": self.imported,
            "row_count": self.row_count,
            "error_count": self.error_count,
            "approved_marked": self.approved_marked,
            "unreported": self.unreported,
        }

    @classmethod
    def from_json(cls, data: dict) -> ImportReport:
        return cls(
            header_errors=list(data.get("header_errors", [])),
            rows=[
                RowReport(
                    number=r["number"],
                    line=r["line"],
                    values=r["values"],
                    errors=r["errors"],
                    warnings=r["warnings"],
                    marked_approved=r["approved"],
                )
                for r in data.get("rows", [])
            ],
            imported=data.get("imported", 0),
            row_count=data.get("row_count", 0),
            error_count=data.get("error_count", 0),
            approved_marked=data.get("approved_marked", 0),
            unreported=data.get("unreported", 0),
        )

    def refuse(self, message: str) -> None:
        """A problem with the whole file: no row is reported."""
        self.header_errors.append(message)
        self.rows = []
        self.row_count = self.error_count = self.approved_marked = self.unreported = 0


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def file_hash(stream: BinaryIO) -> str:
    """The SHA-256 of a file read in blocks (its position is left at the start)."""
    digest = hashlib.sha256()
    stream.seek(0)
    for block in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(block)
    stream.seek(0)
    return digest.hexdigest()


class _Counted(io.RawIOBase):
    """A binary stream that counts the bytes read from it (for the progress bar)."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


class _Unreadable(Exception):
    def __init__(self, message: str):
        self.message = message


def _open_table(stream: BinaryIO) -> tuple[list[str], Iterator[list[str]], _Counted]:
    """The header and an iterator over the other rows of a CSV, read as a stream.

    Raises ``_Unreadable`` with the reason for a file that is not UTF-8 or empty;
    the iterator raises it for a problem met further down the file.
    """
    counted = _Counted(stream)
    text = io.TextIOWrapper(
        io.BufferedReader(counted, 256 * 1024), encoding="utf-8-sig", newline=""
    )
    try:
        first = text.readline()
    except UnicodeDecodeError:
        raise _Unreadable(_not_utf8()) from None
    # The sniffer only picks the delimiter; the rest is the standard dialect
    # (RFC 4180: quotes doubled inside quoted cells), whatever it guessed.
    try:
        delimiter = csv.Sniffer().sniff(first.splitlines()[0], delimiters=",;\t").delimiter
    except (csv.Error, IndexError):
        delimiter = ","
    reader = csv.reader(itertools.chain([first], text), csv.excel, delimiter=delimiter)

    def rows() -> Iterator[list[str]]:
        try:
            yield from reader
        except UnicodeDecodeError:
            raise _Unreadable(_not_utf8()) from None
        except csv.Error as exc:
            raise _Unreadable(_("The file could not be read as CSV: %s") % exc) from None

    table = rows()
    header = next(table, None)
    # A file of blank lines is empty; a blank first line before real rows is a
    # header with no columns (the header check says what is missing).
    if header is None or (
        not "".join(header).strip() and not any("".join(r).strip() for r in table)
    ):
        raise _Unreadable(_("The file is empty."))
    return header, table, counted


def _not_utf8() -> str:
    return _("The file is not UTF-8 text. In your spreadsheet choose Save as, CSV UTF-8.")


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


class _Names:
    """Consultants by display name (without case), read once per import when a row names one."""

    def __init__(self) -> None:
        self._by_name: dict[str, list[Consultant]] | None = None

    def get(self) -> dict[str, list[Consultant]]:
        if self._by_name is None:
            self._by_name = {}
            # Display names are compared without case; a name shared by two people
            # is refused rather than guessed.
            for c in Consultant.objects.only("public_id", "display_name", "status").iterator():
                self._by_name.setdefault(c.display_name.lower(), []).append(c)
        return self._by_name


class _Lookups:
    """Consultants, engagements and rates a chunk of the file names, each in one query."""

    def __init__(self, rows: list[dict[str, str]], names: _Names):
        given = {r.get("consultant", "").strip() for r in rows} - {""}
        ids = {u for u in (_as_uuid(n) for n in given) if u}
        words = {n.lower() for n in given if not _as_uuid(n)}
        self.by_id: dict[uuid.UUID, Consultant] = {}
        self.by_name: dict[str, list[Consultant]] = {}
        if ids:
            for c in Consultant.objects.only("public_id", "display_name", "status").filter(
                public_id__in=ids
            ):
                self.by_id[c.public_id] = c
        if words:
            everyone = names.get()
            self.by_name = {w: everyone[w] for w in words if w in everyone}
        consultant_pks = {c.pk for c in self.by_id.values()} | {
            c.pk for group in self.by_name.values() for c in group
        }
        engagement_ids = {
            u for u in (_as_uuid(r.get("engagement", "")) for r in rows) if u is not None
        }
        engagements = Engagement.objects.select_related("phase__study")
        found: list[Engagement] = []
        if consultant_pks or engagement_ids:
            found = list(
                engagements.filter(
                    Q(consultant_id__in=consultant_pks) | Q(public_id__in=engagement_ids)
                )
            )
        self.by_engagement_id = {e.public_id: e for e in found}
        self.by_consultant: dict[int, list[Engagement]] = {}
        for e in found:
            self.by_consultant.setdefault(e.consultant_id, []).append(e)
        self.activities = {_normal(value): value for value in Activity.values}
        self.activities.update({_normal(str(label)): value for value, label in Activity.choices})
        self.rates: dict[int, list[Rate]] = {}
        cards = {e.rate_card_id for e in found}
        if cards:
            for rate in Rate.objects.filter(
                rate_card_id__in=cards, kind__in=set(RATE_KIND_FOR.values())
            ).only("id", "rate_card_id", "activity", "amount", "effective_from", "kind"):
                self.rates.setdefault(rate.rate_card_id, []).append(rate)

    def rate(self, engagement: Engagement, *, activity: str, kind: str, on: date) -> Rate | None:
        """The rate in force (``engagements.rates.pick_rate``) from the rates loaded."""
        return pick_rate(
            self.rates.get(engagement.rate_card_id, ()), activity=activity, kind=kind, on=on
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
            found = self.by_engagement_id.get(as_id) if as_id else None
            match = [found] if found else []
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
            for e in self.by_consultant.get(consultant.pk, [])
            if e.phase.name.lower() == phase
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
    activity = _choice(
        v.get("activity", ""),
        lookups.activities,
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
            rate = lookups.rate(
                engagement, activity=activity, kind=RATE_KIND_FOR[kind], on=work_date
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


def _warn_duplicates(reports: list[RowReport], *, upto_pk: int | None) -> None:
    """Warn about rows already in Honora: one query for the chunk, then a set lookup.

    ``upto_pk``: the newest entry when the import began. Entries this import
    inserted (in earlier chunks) are not "already in Honora".
    """
    rows = [r.row for r in reports if r.row is not None]
    if not rows or upto_pk is None:
        return
    existing = set(
        Contribution.objects.filter(
            engagement__in={r.engagement.pk for r in rows},
            date__in={r.date for r in rows},
            adjusts__isnull=True,
            pk__lte=upto_pk,
        )
        .exclude(status=Contribution.Status.REJECTED)
        .values_list("engagement_id", "date", "kind", "activity", "quantity", "claimed_amount")
    )
    for report in reports:
        r = report.row
        if r is None:
            continue
        quantity = Decimal("1.00") if r.kind == Contribution.Kind.REIMBURSEMENT else r.quantity
        key = (r.engagement.pk, r.date, r.kind, r.activity, quantity, r.claimed_amount)
        if key in existing:
            report.warnings.append(
                _("An entry with the same date, activity and quantity is already in Honora.")
            )


class _DryRun(Exception):
    pass


def _import_chunk(
    reports: list[RowReport],
    *,
    by,
    names: _Names,
    upto_pk: int | None,
    report: ImportReport,
    lock: bool,
) -> int:
    """Check one chunk of rows and insert those that pass; the number inserted."""
    lookups = _Lookups([r.values for r in reports], names)
    for row in reports:
        _parse_row(row, lookups)
    _warn_duplicates(reports, upto_pk=upto_pk)
    ready = [r.row for r in reports if r.row is not None]
    created, errors = contributions_import_chunk(by=by, rows=ready, lock=lock)
    if errors:
        by_number = {r.number: r for r in reports}
        for number, message in errors.items():
            by_number[number].errors.append(message)
    for row in reports:
        report.keep(row)
    return len(created)


# The key of the PostgreSQL advisory lock that lets one import write at a time.
IMPORT_LOCK_KEY = 0x686F6E6F72610001


def _serialise_imports() -> None:
    """Wait for any other import to end, holding the turn until this transaction ends.

    An import locks the engagements and consultants of each chunk in pk order,
    but two imports' chunks could take them in opposite orders and deadlock;
    one import at a time cannot. The dry run takes no locks and needs no turn.
    SQLite has one writer at a time already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])


def run_import(
    *,
    by,
    commit: bool,
    content: bytes | None = None,
    stream: BinaryIO | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    """Check every row of the file and, if ``commit`` and all is well, import it.

    The file is ``content``, or ``stream`` (a binary file, read once, as a
    stream). Rows are checked and written ``chunk_rows`` at a time, so the
    queries and the memory do not grow with the file; all of it in one
    transaction, all or nothing. Without ``commit`` nothing is kept: the rows go
    through the same services inside a transaction that is always rolled back.
    ``progress(bytes_read, size)`` is called after each chunk.
    """
    report = ImportReport()
    if stream is None:
        stream = io.BytesIO(content or b"")
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > MAX_IMPORT_BYTES:
        report.refuse(too_large_message())
        return report
    try:
        raw_header, table, counted = _open_table(stream)
    except _Unreadable as exc:
        report.refuse(exc.message)
        return report
    header = _check_header(raw_header, report)
    if report.header_errors:
        return report
    names = _Names()
    imported = 0
    try:
        with transaction.atomic():
            if commit:
                _serialise_imports()
            upto_pk = Contribution.objects.order_by("-pk").values_list("pk", flat=True).first()
            pending: list[RowReport] = []
            seen = 0
            for number, cells in enumerate(table, start=1):
                if not any(cell.strip() for cell in cells):
                    continue  # blank lines are skipped, but keep their numbers
                seen += 1
                if seen > MAX_IMPORT_ROWS:
                    raise _Unreadable(
                        _("The file has more than %(max)d rows. Split it into smaller files.")
                        % {"max": MAX_IMPORT_ROWS}
                    )
                values = {
                    name: (cells[i] if i < len(cells) else "")
                    for i, name in enumerate(header)
                    if name in IMPORT_COLUMNS
                }
                pending.append(RowReport(number=number, line=number + 1, values=values))
                if len(pending) >= chunk_rows:
                    imported += _import_chunk(
                        pending, by=by, names=names, upto_pk=upto_pk, report=report, lock=commit
                    )
                    pending = []
                    if progress is not None:
                        progress(counted.consumed, size)
            if pending:
                imported += _import_chunk(
                    pending, by=by, names=names, upto_pk=upto_pk, report=report, lock=commit
                )
            if not seen:
                raise _Unreadable(_("The file has a header but no rows."))
            if not (commit and report.clean):
                raise _DryRun
    except _DryRun:
        return report
    except _Unreadable as exc:
        report.refuse(exc.message)
        return report
    except DomainError as exc:
        report.header_errors.append(exc.message)
        return report
    except OperationalError:
        # A lock wait that timed out, or a deadlock: nothing was kept.
        report.refuse(
            _("The database was busy and nothing was imported. Check the file again in a moment.")
        )
        return report
    if progress is not None:
        progress(size, size)
    report.imported = imported
    return report


IMPORT_TEMPLATE_HEADER = list(IMPORT_COLUMNS)
