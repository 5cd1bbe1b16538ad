"""Finance pages for documents: receipts, annual statements and the year's tax summary.

Thin views over ``payments.documents``; see ``payments.views.batches`` for how
errors come back.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.access import finance_required, get_visible_or_404
from consultants.models import TaxForm
from core.errors import StateConflict, ValidationFailed
from core.files import bytes_download
from core.forms import show_error
from payments import selectors
from payments.documents import receipts as receipts_service
from payments.documents import statements
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import receipt_status
from payments.documents.rendering import document_filename, document_pdf
from payments.forms import (
    ReceiptFilterForm,
    StatementYearForm,
    receipt_replace_form,
    tax_export_form,
)
from payments.models import Payment

PS = Payment.Status
ZERO = selectors.ZERO
CONSULTANT_CONTACT = ("email", "phone", "safe_contact_notes")
RECEIPTS_PER_PAGE = 100


def _download(request, document):
    """The stored bytes, checked against their hash; an altered file is never served."""
    try:
        data = document_pdf(document)
    except StateConflict as exc:  # still being rendered, or altered (DocumentUnavailable)
        return render(
            request,
            "payments/document_unavailable.html",
            {"message": exc.message},
            status=exc.status,
        )
    return bytes_download(
        data, filename=document_filename(document), content_type="application/pdf"
    )


@finance_required
def receipts(request):
    """Every receipt, newest first: who (display name), how much, valid or replaced."""
    form = ReceiptFilterForm(request.GET or None)
    rows = selectors.receipt_rows(selectors.receipts_visible_to(request.user))
    if form.is_valid():
        if form.cleaned_data["year"]:
            rows = rows.filter(year=form.cleaned_data["year"])
        if form.cleaned_data["number"]:
            rows = rows.filter(number__iexact=form.cleaned_data["number"])
    page = Paginator(rows.order_by("-year", "-sequence"), RECEIPTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "payments/receipts.html",
        {
            "form": form,
            "page": page,
            "receipts": [
                {
                    "r": r,
                    "status": receipt_status(r),
                    "replaced_by": getattr(r, "replaced_by", None),
                }
                for r in page.object_list
            ],
        },
    )


def _get_receipt(request, public_id) -> Receipt:
    return get_visible_or_404(
        selectors.receipt_detail_rows(selectors.receipts_visible_to(request.user)),
        public_id=public_id,
    )


def _line_for_page(line: dict) -> dict:
    """A stored receipt line with its date as a date, so the page writes "12 March 2026"
    (the receipt keeps the ISO date it was issued with)."""
    try:
        when = date.fromisoformat(str(line.get("date", "")))
    except ValueError:
        return line
    return {**line, "date": when}


def _receipt_page(request, receipt, *, replace_form=None, status=200):
    replaced_by = getattr(receipt, "replaced_by", None)
    context = {
        "receipt": receipt,
        "replaced_by": replaced_by,
        "status": receipt_status(receipt),
        "lines": [_line_for_page(line) for line in receipt.lines],
        "can_replace": replaced_by is None and receipt.payment.status == PS.PAID,
        "replace_form": replace_form or receipt_replace_form(),
    }
    return render(request, "payments/receipt_detail.html", context, status=status)


@finance_required
def receipt_detail(request, public_id):
    return _receipt_page(request, _get_receipt(request, public_id))


@finance_required
@require_POST
def receipt_replace(request, public_id):
    """Issue a corrected receipt; the one it replaces stays available, marked replaced."""
    receipt = _get_receipt(request, public_id)
    form = receipt_replace_form(request.POST)
    if not form.is_valid():
        return _receipt_page(request, receipt, replace_form=form, status=400)
    try:
        new = receipts_service.receipt_replace(
            receipt=receipt, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _receipt_page(request, receipt, replace_form=form, status=400)
    messages.success(
        request,
        _("Receipt %(new)s replaces %(old)s. Its PDF is being prepared.")
        % {"new": new.number, "old": receipt.number},
    )
    return redirect("payments:receipt", public_id=new.public_id)


@finance_required
def receipt_pdf(request, public_id):
    return _download(request, _get_receipt(request, public_id))


def _year(year: int) -> int:
    if not 2000 <= year <= timezone.localdate().year:
        raise Http404
    return year


@finance_required
def statements_year(request, year):
    """Everyone paid in ``year`` and their latest statement; prepare them all at once."""
    year = _year(year)
    consultants = list(statements.paid_consultants(year).defer(*CONSULTANT_CONTACT))
    latest = {}
    for s in AnnualStatement.objects.filter(
        year=year, consultant__in=[c.pk for c in consultants]
    ).order_by("version"):
        latest[s.consultant_id] = s
    waiting = statements.consultants_waiting([c.pk for c in consultants], year)
    return render(
        request,
        "payments/statements.html",
        {
            "year": year,
            "years": _year_choices(),
            "progress": statements.statement_progress(year),
            "rows": [
                {"c": c, "statement": latest.get(c.pk), "pending": c.pk in waiting}
                for c in consultants
            ],
        },
    )


@finance_required
@require_POST
def statements_generate(request, year):
    year = _year(year)
    enqueued = statements.statements_request_year(year=year, by=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s statement is being prepared by a background worker.",
            "%(count)s statements are being prepared by background workers.",
            len(enqueued),
        )
        % {"count": len(enqueued)},
    )
    return redirect("payments:statements", year=year)


@finance_required
def statement_pdf(request, public_id):
    statement = get_visible_or_404(
        selectors.statements_visible_to(request.user), public_id=public_id
    )
    return _download(request, statement)


def _year_choices() -> list[int]:
    this_year = timezone.localdate().year
    paid = {
        d.year
        for d in Payment.objects.filter(status=PS.PAID, paid_at__isnull=False).dates(
            "paid_at", "year"
        )
    }
    return sorted(paid | {this_year, this_year - 1}, reverse=True)


@finance_required
def tax_home(request):
    """The year picker lands here: on to the chosen year (default: the latest paid year)."""
    form = StatementYearForm(request.GET or None)
    if form.is_valid():
        return redirect("payments:tax", year=form.cleaned_data["year"])
    return redirect("payments:tax", year=_year_choices()[0])


def _tax_page(request, year, *, export_form=None, status=200):
    summary = statements.tax_summary(year)
    labels = dict(TaxForm.Status.choices)
    rows = [
        {
            "consultant": row.consultant,
            "stripe": row.stripe,
            "manual": row.manual,
            "reportable": row.reportable,
            "reimbursements": row.reimbursements,
            "reached": summary.reached(row),
            "w9": row.w9_status,
            "w9_label": labels.get(row.w9_status, row.w9_status),
        }
        for row in summary.rows
    ]
    context = {
        "year": year,
        "years": _year_choices(),
        "summary": summary,
        "rows": rows,
        "totals": {
            "stripe": sum((r["stripe"] for r in rows), ZERO),
            "manual": sum((r["manual"] for r in rows), ZERO),
            "reportable": sum((r["reportable"] for r in rows), ZERO),
            "reimbursements": sum((r["reimbursements"] for r in rows), ZERO),
            "reached": sum(1 for r in rows if r["reached"]),
            "missing_w9": sum(1 for r in rows if r["reached"] and r["w9"] != "received"),
        },
        "export_form": export_form or tax_export_form(),
        "progress": statements.statement_progress(year),
    }
    return render(request, "payments/tax_summary.html", context, status=status)


@finance_required
def tax_summary(request, year):
    """Each consultant's reportable total by rail; display names only, never identity."""
    return _tax_page(request, _year(year))


@finance_required
@require_POST
def tax_export(request, year):
    """The 1099-NEC CSV: legal names and taxpayer ids, each reveal recorded with the reason."""
    year = _year(year)
    form = tax_export_form(request.POST)
    if not form.is_valid():
        return _tax_page(request, year, export_form=form, status=400)
    try:
        text = statements.tax_summary_csv(
            year=year, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _tax_page(request, year, export_form=form, status=400)
    return bytes_download(
        text.encode("utf-8"),
        filename=f"tax-summary-{year}.csv",
        content_type="text/csv; charset=utf-8",
    )
