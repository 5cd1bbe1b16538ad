"""The consultant's own claims and advances, under /me/: claim from the phone, add receipts."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404
from core.errors import DomainError
from core.forms import show_error
from expenses import selectors
from expenses.forms import ReceiptForm, ReimbursementForm
from expenses.services import advance_receipt_add, claim_create
from portal.selectors import active_engagements_of
from portal.views.page import portal_page


@portal_page
def reimbursements(request):
    user = request.user
    claims = (
        selectors.claims_visible_to(user)
        .select_related("contribution")
        .order_by("-contribution__date", "-id")
    )
    advances = selectors.advances_visible_to(user).prefetch_related("receipts")
    return render(
        request,
        "portal/reimbursements.html",
        {"claims": claims[:100], "advances": advances[:100]},
    )


@portal_page
def reimbursement_new(request):
    queryset = active_engagements_of(request.consultant)
    engagements = list(queryset)
    initial = {"engagement": engagements[0].public_id} if len(engagements) == 1 else {}
    form = ReimbursementForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        engagements=queryset,
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                claim = claim_create(
                    engagement=data["engagement"],
                    by=request.user,
                    category=data["category"],
                    date=data["date"],
                    amount=data["amount"],
                    distance=data["distance"],
                    description=data["description"],
                    files=data["files"],
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Your claim was sent for approval. A coordinator will review it."),
                )
                return redirect("portal:contribution", public_id=claim.contribution.public_id)
        else:
            status = 400
    return render(
        request,
        "portal/reimbursement_new.html",
        {"form": form, "has_engagements": bool(engagements)},
        status=status,
    )


@portal_page
def advance_detail(request, public_id):
    advance = get_visible_or_404(selectors.advances_visible_to(request.user), public_id=public_id)
    form = ReceiptForm()
    status = 200
    if request.method == "POST":
        form = ReceiptForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                advance_receipt_add(
                    advance=advance,
                    by=request.user,
                    amount=form.cleaned_data["amount"],
                    description=form.cleaned_data["description"],
                    upload=form.cleaned_data["file"],
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The receipt was added."))
                return redirect("portal:advance", public_id=advance.public_id)
        else:
            status = 400
    return render(
        request,
        "portal/advance.html",
        {
            "advance": advance,
            "receipts": list(advance.receipts.all()),
            "spent": selectors.spent_on(advance),
            "settlement": getattr(advance, "settlement", None),
            "form": form,
        },
        status=status,
    )
