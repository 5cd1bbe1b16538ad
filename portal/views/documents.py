"""The consultant's own receipts and annual statements, and their PDF downloads."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import consultant_required, get_visible_or_404
from core.errors import DomainError, StateConflict
from core.files import bytes_download
from payments import selectors
from payments.documents import statements
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import receipt_status
from payments.documents.rendering import document_filename, document_pdf
from payments.forms import StatementYearForm

YEAR = re.compile(r"[0-9]{4}")
PAGE_SIZE = 50


@never_cache
@consultant_required
def my_receipts(request):
    """Every receipt of mine (replaced ones too, marked) and my statements by year."""
    consultant = request.consultant
    page = Paginator(
        selectors.receipt_rows(Receipt.objects.filter(consultant=consultant)).order_by(
            "-year", "-sequence"
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    years = statements.statement_years(consultant)
    latest = _latest_statements(consultant)
    waiting = statements.statements_waiting(consultant, years)
    return render(
        request,
        "portal/receipts.html",
        {
            "consultant": consultant,
            "page": page,
            "receipts": [
                {
                    "r": r,
                    "status": receipt_status(r),
                    "replaced_by": getattr(r, "replaced_by", None),
                }
                for r in page.object_list
            ],
            "years": [
                {"year": y, "statement": latest.get(y), "pending": y in waiting} for y in years
            ],
        },
    )


def _latest_statements(consultant, year=None) -> dict:
    """The newest version of each year's statement of ``consultant``, by year."""
    latest = {}
    rows = AnnualStatement.objects.filter(consultant=consultant)
    if year is not None:
        rows = rows.filter(year=year)
    for statement in rows.order_by("year", "version"):
        latest[statement.year] = statement  # the last version of each year wins
    return latest


@never_cache
@consultant_required
def statement_status(request):
    """Where my statements stand, for the receipts page to update itself while one is prepared.

    JSON: ``years``, each with its ``state`` ("pending", "ready" or "none") and ``html``,
    the page's own block for that year. ``?year=`` asks for one year only (the URL
    carries no id); a year with nothing of mine in it is a 404, like anyone else's record.
    """
    consultant = request.consultant
    years = statements.statement_years(consultant)
    asked = request.GET.get("year")
    if asked is not None:
        # Four ASCII digits only: "²" and 5,000-digit strings pass isdigit() but not int().
        if not YEAR.fullmatch(asked) or int(asked) not in years:
            raise Http404
        years = [int(asked)]
    latest = _latest_statements(consultant)
    waiting = statements.statements_waiting(consultant, years)
    answer = {}
    for year in years:
        row = {"year": year, "statement": latest.get(year), "pending": year in waiting}
        state = "pending" if row["pending"] else ("ready" if row["statement"] else "none")
        html = render_to_string("portal/_statement_year.html", {"row": row}, request=request)
        answer[str(year)] = {"state": state, "html": html}
    return JsonResponse({"years": answer})


def _download(request, document, template):
    """The stored bytes, checked against their hash; an altered file is never served."""
    try:
        data = document_pdf(document)
    except StateConflict as exc:  # still being rendered, or altered (DocumentUnavailable)
        return render(request, template, {"message": exc.message}, status=exc.status)
    return bytes_download(
        data, filename=document_filename(document), content_type="application/pdf"
    )


@never_cache
@consultant_required
def receipt_pdf(request, public_id):
    receipt = get_visible_or_404(
        Receipt.objects.filter(consultant=request.consultant), public_id=public_id
    )
    return _download(request, receipt, "portal/receipts_unavailable.html")


@never_cache
@consultant_required
def statement_pdf(request, public_id):
    statement = get_visible_or_404(
        AnnualStatement.objects.filter(consultant=request.consultant), public_id=public_id
    )
    return _download(request, statement, "portal/receipts_unavailable.html")


@never_cache
@consultant_required
@require_POST
def statement_prepare(request):
    """Ask for this year's statement: a worker renders it; the page says it is on its way."""
    form = StatementYearForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["year"][0])
        return redirect("portal:receipts")
    year = form.cleaned_data["year"]
    try:
        statements.statement_request(consultant=request.consultant, year=year, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:receipts")
    messages.success(
        request,
        _("Your statement for %(year)s is being prepared. It appears here when it is ready.")
        % {"year": year},
    )
    return redirect("portal:receipts")
