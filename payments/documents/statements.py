"""Annual statements (per consultant and year) and the year's tax summary for finance."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS as MONTH_NAMES
from django.utils.translation import gettext as _

from consultants.models import Consultant, IdentityVault, TaxForm, VaultReveal
from core.errors import NotAllowed, ValidationFailed
from core.money import format_money, plain_amount
from core.tasks import enqueue_on_commit
from engagements.models import Contribution
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.rendering import organization, payee_name, render_pdf
from payments.models import Payment, PaymentItem, Rail
from payments.preflight import tax_threshold

ZERO = Decimal("0.00")
# Month names in the active language (Django's own catalogs): "January", "enero".
MONTHS = tuple(MONTH_NAMES[m] for m in range(1, 13))


def _is_pay(item) -> bool:
    return item.contribution.kind != Contribution.Kind.REIMBURSEMENT


def _paid_payments(year: int, consultants=None):
    payments = (
        Payment.objects.filter(status=Payment.Status.PAID, paid_at__year=year)
        .select_related("consultant")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=PaymentItem.objects.filter(live=True).select_related(
                    "contribution__engagement__phase"
                ),
            ),
            Prefetch("receipts", queryset=Receipt.objects.filter(replaced_by__isnull=True)),
        )
        .order_by("paid_at", "id")
    )
    if consultants is not None:
        payments = payments.filter(consultant__in=consultants)
    return payments


# --- annual statement ---------------------------------------------------------------------


@dataclass
class StatementData:
    consultant: Consultant
    year: int
    by_month: list = field(default_factory=list)  # (month name, pay, reimbursements)
    by_phase: list = field(default_factory=list)  # (phase, pay, reimbursements)
    payments: list = field(default_factory=list)  # dicts
    pay_total: Decimal = ZERO
    reimbursement_total: Decimal = ZERO
    threshold: Decimal = ZERO
    threshold_reached: bool = False


def statement_data(consultant, year: int) -> StatementData:
    data = StatementData(consultant=consultant, year=year, threshold=tax_threshold(year))
    months = OrderedDict((m, [ZERO, ZERO]) for m in range(1, 13))
    phases: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for payment in _paid_payments(year, [consultant]):
        month = timezone.localdate(payment.paid_at).month
        pay = reimbursed = ZERO
        for item in payment.items.all():
            slot = 0 if _is_pay(item) else 1
            months[month][slot] += item.amount
            phases[item.contribution.engagement.phase.name][slot] += item.amount
            if slot == 0:
                pay += item.amount
            else:
                reimbursed += item.amount
        receipt = next(iter(payment.receipts.all()), None)
        data.payments.append(
            {
                "date": timezone.localdate(payment.paid_at),
                "method": payment.get_method_display(),
                "receipt": receipt.number if receipt else _("being issued"),
                "pay": format_money(pay),
                "reimbursements": format_money(reimbursed),
                "total": format_money(payment.amount),
            }
        )
        data.pay_total += pay
        data.reimbursement_total += reimbursed
    data.by_month = [
        (MONTHS[m - 1], format_money(p), format_money(r)) for m, (p, r) in months.items() if p or r
    ]
    data.by_phase = [
        (name, format_money(p), format_money(r)) for name, (p, r) in sorted(phases.items())
    ]
    data.threshold_reached = data.pay_total >= data.threshold
    return data


def statement_html(data: StatementData) -> str:
    return render_to_string(
        "pdf/statement.html",
        {
            "data": data,
            "name": payee_name(data.consultant),
            "organization": organization(),
            "pay_total": format_money(data.pay_total),
            "reimbursement_total": format_money(data.reimbursement_total),
            "threshold": format_money(data.threshold),
            "generated_on": timezone.localdate(),
        },
    )


def _check_statement(*, consultant, year, by) -> None:
    if by is not None:
        own = getattr(by, "consultant", None) is not None and by.consultant.pk == consultant.pk
        if not (own or by.has_perm("payments.access_finance")):
            raise NotAllowed(_("You cannot prepare this statement."))
    _check_year(year)


def _check_year(year) -> None:
    this_year = timezone.localdate().year
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= this_year:
        raise ValidationFailed(
            _("Choose a year up to %(year)s.") % {"year": this_year}, field="year"
        )


def statement_language(consultant) -> str:
    """A statement is written in the consultant's preferred language."""
    language = consultant.preferred_language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def statement_generate(*, consultant, year: int, by=None) -> AnnualStatement:
    """Render and store a new version of the consultant's statement for ``year``, in
    the consultant's language (whoever asks for it)."""
    _check_statement(consultant=consultant, year=year, by=by)
    language = statement_language(consultant)
    with translation.override(language):
        data = statement_data(consultant, year)
        pdf = render_pdf(statement_html(data))
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        Consultant.objects.select_for_update().get(pk=consultant.pk)  # one version at a time
        last = (
            AnnualStatement.objects.filter(consultant=consultant, year=year).aggregate(
                v=Max("version")
            )["v"]
            or 0
        )
        statement = AnnualStatement(
            consultant=consultant,
            year=year,
            version=last + 1,
            generated_by=by,
            sha256=digest,
            pay_total=data.pay_total,
            reimbursement_total=data.reimbursement_total,
            language=language,
        )
        statement.pdf.save(
            f"statement-{year}-{consultant.public_id}-v{last + 1}.pdf", ContentFile(pdf), save=False
        )
        statement.save()
    return statement


# --- asking for statements (rendered by a worker, never in the request) ----------------

# How long a request shows as "being prepared" if no worker ever picks it up.
PENDING_SECONDS = 30 * 60


def _pending_key(consultant_id: int, year: int) -> str:
    return f"honora:statement-pending:{consultant_id}:{year}"


def _bulk_key(year: int) -> str:
    return f"honora:statement-bulk:{year}"


def _last_versions(consultant_ids, year: int) -> dict[int, int]:
    return dict(
        AnnualStatement.objects.filter(consultant_id__in=consultant_ids, year=year)
        .values("consultant")
        .annotate(v=Max("version"))
        .values_list("consultant", "v")
    )


def consultants_waiting(consultant_ids, year: int) -> set[int]:
    """Those whose requested version is not stored yet (two queries, however many)."""
    marks = cache.get_many([_pending_key(pk, year) for pk in consultant_ids])
    if not marks:
        return set()
    versions = _last_versions(consultant_ids, year)
    return {
        pk
        for pk in consultant_ids
        if (mark := marks.get(_pending_key(pk, year))) is not None and versions.get(pk, 0) < mark
    }


def statement_pending(consultant, year: int) -> bool:
    """True from a request until a newer version than the one then current is stored."""
    return consultant.pk in consultants_waiting([consultant.pk], year)


def statements_waiting(consultant, years) -> set[int]:
    """The years whose requested statement for ``consultant`` is not stored yet."""
    marks = cache.get_many([_pending_key(consultant.pk, y) for y in years])
    if not marks:
        return set()
    versions = dict(
        AnnualStatement.objects.filter(consultant=consultant, year__in=years)
        .values("year")
        .annotate(v=Max("version"))
        .values_list("year", "v")
    )
    return {
        y
        for y in years
        if (mark := marks.get(_pending_key(consultant.pk, y))) is not None
        and versions.get(y, 0) < mark
    }


def _enqueue(consultants, year: int, by) -> list:
    """Enqueue one generation per consultant not already waiting; returns those enqueued."""
    ids = [c.pk for c in consultants]
    waiting = consultants_waiting(ids, year)
    fresh = [c for c in consultants if c.pk not in waiting]
    versions = _last_versions([c.pk for c in fresh], year)
    # Marked before the tasks exist, so a second click does not enqueue a twin.
    cache.set_many(
        {_pending_key(c.pk, year): versions.get(c.pk, 0) + 1 for c in fresh}, PENDING_SECONDS
    )
    user_id = by.pk if by is not None else None
    for c in fresh:
        # After commit: a worker must never look for rows this request has not committed.
        enqueue_on_commit(
            "payments.documents.tasks.generate_statement", c.pk, year, user_id, robust=True
        )
    return fresh


def statement_request(*, consultant, year: int, by) -> bool:
    """Ask a worker for a new version of ``consultant``'s statement for ``year``.

    False when one is already being prepared (nothing more is enqueued).
    """
    _check_statement(consultant=consultant, year=year, by=by)
    return bool(_enqueue([consultant], year, by))


def paid_consultants(year: int):
    """Everyone with a payment paid in ``year``, by display name."""
    return (
        Consultant.objects.filter(
            payments__status=Payment.Status.PAID, payments__paid_at__year=year
        )
        .distinct()
        .order_by("display_name", "id")
    )


def statements_request_year(*, year: int, by) -> list:
    """Finance asks for a statement for everyone paid in ``year``; returns who was enqueued."""
    if not by.has_perm("payments.access_finance"):
        raise NotAllowed(_("Only finance can prepare everyone's statements."))
    _check_year(year)
    enqueued = _enqueue(list(paid_consultants(year).only("id", "public_id")), year, by)
    cache.set(
        _bulk_key(year),
        {"requested_at": timezone.now().isoformat(), "count": len(enqueued)},
        PENDING_SECONDS * 4,
    )
    return enqueued


@dataclass
class StatementProgress:
    year: int
    paid: int  # consultants paid in the year
    with_statement: int  # of those, how many have a statement for the year
    requested_at: object = None  # when finance last asked for all of them
    requested: int = 0
    generated_since: int = 0  # statements stored since that request

    @property
    def waiting(self) -> int:
        return max(self.requested - self.generated_since, 0)


def statement_progress(year: int) -> StatementProgress:
    paid = paid_consultants(year)
    statements = AnnualStatement.objects.filter(year=year)
    progress = StatementProgress(
        year=year,
        paid=paid.count(),
        with_statement=paid.filter(statements__year=year).distinct().count(),
    )
    bulk = cache.get(_bulk_key(year))
    if bulk:
        progress.requested_at = parse_datetime(bulk["requested_at"])
        progress.requested = bulk["count"]
        progress.generated_since = (
            statements.filter(generated_at__gte=progress.requested_at)
            .values("consultant")
            .distinct()
            .count()
        )
    return progress


def latest_statement(consultant, year: int) -> AnnualStatement | None:
    return (
        AnnualStatement.objects.filter(consultant=consultant, year=year)
        .order_by("-version")
        .first()
    )


def statement_years(consultant) -> list[int]:
    years = {
        d.year
        for d in Payment.objects.filter(consultant=consultant, status=Payment.Status.PAID).dates(
            "paid_at", "year"
        )
    }
    years.update(
        AnnualStatement.objects.filter(consultant=consultant).values_list("year", flat=True)
    )
    return sorted(years, reverse=True)


# --- tax summary ----------------------------------------------------------------------------


@dataclass
class TaxRow:
    consultant: Consultant
    stripe: Decimal = ZERO
    manual: Decimal = ZERO
    reimbursements: Decimal = ZERO

    @property
    def reportable(self) -> Decimal:
        return self.stripe + self.manual


@dataclass
class TaxSummary:
    year: int
    threshold: Decimal
    rows: list[TaxRow]

    def reached(self, row: TaxRow) -> bool:
        return row.reportable >= self.threshold and row.reportable > 0


def tax_summary(year: int) -> TaxSummary:
    """Each consultant's reportable total for ``year`` (reimbursements excluded), by rail."""
    rows: dict[int, TaxRow] = {}
    for payment in _paid_payments(year):
        row = rows.setdefault(payment.consultant_id, TaxRow(consultant=payment.consultant))
        for item in payment.items.all():
            if not _is_pay(item):
                row.reimbursements += item.amount
            elif payment.rail == Rail.STRIPE:
                row.stripe += item.amount
            else:
                row.manual += item.amount
    forms = dict(
        TaxForm.objects.filter(consultant_id__in=rows).values_list("consultant_id", "status")
    )
    for row in rows.values():
        row.w9_status = forms.get(row.consultant.pk, TaxForm.Status.MISSING)
    ordered = sorted(
        rows.values(), key=lambda r: (r.consultant.display_name.lower(), r.consultant.pk)
    )
    return TaxSummary(year=year, threshold=tax_threshold(year), rows=ordered)


CSV_COLUMNS = [
    "Recipient Name",
    "Recipient TIN",
    "TIN Type",
    "Address Line 1",
    "Address Line 2",
    "City",
    "State",
    "ZIP",
    "Box 1 Nonemployee Compensation",
    "Box 4 Federal Income Tax Withheld",
    "Account Number",
    "Paid Through Stripe",
    "W-9 On File",
    "Threshold Reached",
]
_CITY_LINE = re.compile(
    r"^\s*(?P<city>.+?),\s*(?P<state>[A-Za-z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)\s*$"
)


def _split_address(text: str) -> tuple[str, str, str, str, str]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    city = state = zip_code = ""
    if lines and (match := _CITY_LINE.match(lines[-1])):
        city, state, zip_code = match["city"], match["state"].upper(), match["zip"]
        lines = lines[:-1]
    line1 = lines[0] if lines else ""
    line2 = ", ".join(lines[1:]) if len(lines) > 1 else ""
    return line1, line2, city, state, zip_code


def _cell(value: str) -> str:
    # Spreadsheets run cells that start with these as formulas.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def tax_summary_csv(*, year: int, by, reason: str) -> str:
    """The 1099-NEC export: legal names and taxpayer ids revealed, every reveal recorded."""
    if not by.has_perm("consultants.reveal_vault"):
        raise NotAllowed(_("Only finance can export the tax summary."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why you are exporting legal names and taxpayer ids."), field="reason"
        )
    summary = tax_summary(year)
    vaults = {
        v.consultant_id: v
        for v in IdentityVault.objects.filter(
            consultant_id__in=[r.consultant.pk for r in summary.rows]
        )
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    reveals = []
    for row in summary.rows:
        if row.reportable <= 0:
            continue
        vault = vaults.get(row.consultant.pk)
        legal = vault.legal_name if vault and vault.legal_name else ""
        tin = vault.taxpayer_id if vault else ""
        address = _split_address(vault.mailing_address if vault else "")
        for name in ("legal_name", "taxpayer_id", "mailing_address"):
            reveals.append(
                VaultReveal(
                    consultant=row.consultant,
                    field=name,
                    revealed_by=by,
                    reason=reason,
                    context=f"tax export {year}",
                )
            )
        digits = "".join(ch for ch in tin if ch.isdigit())
        tin_type = (
            "EIN"
            if re.fullmatch(r"\d{2}-\d{7}", tin.strip())
            else ("SSN" if len(digits) == 9 else "")
        )
        writer.writerow(
            [
                _cell(legal or row.consultant.display_name),
                _cell(tin),
                tin_type,
                *(_cell(part) for part in address),
                plain_amount(row.manual),
                "0.00",
                str(row.consultant.public_id),
                plain_amount(row.stripe),
                "yes" if row.w9_status == TaxForm.Status.RECEIVED else "no",
                "yes" if summary.reached(row) else "no",
            ]
        )
    with transaction.atomic():
        for reveal in reveals:
            reveal.save()
    return out.getvalue()
