"""The consultant's own payments, receipts and statements, and direct-deposit setup.

Wired into the portal's URLs (``portal:payments``, ``portal:stripe_onboarding``,
``portal:receipts`` and the downloads).
A consultant sees only their own payments, in neutral words; pages are never
cached, so nothing can be shown again from a shared device's cache.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import consultant_required, get_visible_or_404
from consultants.models import PayoutMethod
from core.errors import DomainError, StateConflict
from core.files import bytes_download
from payments import selectors
from payments.documents import statements
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import receipt_status
from payments.documents.rendering import document_filename, document_pdf
from payments.forms import StatementYearForm
from payments.stripe import accounts as stripe_accounts

PAGE_SIZE = 50


def _onboarding(consultant):
    """What the direct-deposit box says: None when there is nothing to set up."""
    if consultant.payout_method != PayoutMethod.STRIPE:
        return None
    account = selectors.stripe_account_of(consultant)
    state = selectors.onboarding_state(account)
    if state == selectors.OnboardingState.READY:
        return None
    return {"state": state, "started": account is not None}


@never_cache
@consultant_required
def my_payments(request):
    consultant = request.consultant
    # Stripe sends the person back here after set-up (return) or when its link
    # expired (refresh); the account's state arrives by webhook, not from this request.
    back_from_stripe = request.GET.get("stripe")
    if back_from_stripe == "return":
        messages.info(
            request,
            _("Thank you. Stripe is checking your details; this page shows when it is ready."),
        )
    elif back_from_stripe == "refresh":
        messages.info(request, _("That set-up link expired. Press “Resume setup” to continue."))
    page = Paginator(selectors.payments_of(consultant), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for payment in page.object_list:
        selectors.split_items(payment)
        rows.append(
            {
                "p": payment,
                "status": selectors.consultant_status(payment),
                "date": selectors.payment_date(payment),
            }
        )
    return render(
        request,
        "portal/payments.html",
        {
            "consultant": consultant,
            "page": page,
            "rows": rows,
            "onboarding": _onboarding(consultant),
        },
    )


@never_cache
@consultant_required
@require_POST
def stripe_onboarding(request):
    """Start or resume direct-deposit setup: off to the link Stripe gives for this person."""
    consultant = request.consultant
    if consultant.payout_method != PayoutMethod.STRIPE:
        messages.info(
            request,
            _("Choose direct deposit in your preferences first, then set it up here."),
        )
        return redirect("portal:payments")
    try:
        url = stripe_accounts.stripe_onboarding_link(consultant=consultant, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:payments")
    return HttpResponseRedirect(url)


# --- receipts and annual statements -------------------------------------------------


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
    latest = {}
    for statement in AnnualStatement.objects.filter(consultant=consultant).order_by(
        "year", "version"
    ):
        latest[statement.year] = statement  # the last version of each year wins
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
