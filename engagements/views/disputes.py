"""Open disputes, as a list and as CSV, and resolving one."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import coordinator_required, get_visible_or_404
from core.csv import csv_response, dated_filename, wants_csv
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.forms import show_error
from engagements import exports, selectors
from engagements.forms import ResolveForm
from engagements.models import Dispute
from engagements.services import disputes as disputes_services
from engagements.views.common import PAGE_SIZE


@coordinator_required
def dispute_list(request):
    user = request.user
    disputes = selectors.open_disputes(user)
    if wants_csv(request):
        return csv_response(
            header=exports.DISPUTE_HEADER,
            rows=exports.dispute_csv_rows(disputes.iterator(chunk_size=500)),
            filename=dated_filename("disputes"),
        )
    page = Paginator(disputes, PAGE_SIZE).get_page(request.GET.get("page"))
    resolved = list(
        selectors.disputes_visible_to(user)
        .filter(status=Dispute.Status.RESOLVED)
        .order_by("-resolved_at", "-id")[:10]
    )
    return render(
        request,
        "engagements/dispute_list.html",
        {"page": page, "resolved": resolved, "form": ResolveForm()},
    )


@coordinator_required
def dispute_resolve(request, public_id):
    dispute = get_visible_or_404(selectors.disputes_visible_to(request.user), public_id=public_id)
    form = ResolveForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                disputes_services.dispute_resolve(
                    dispute=dispute, by=request.user, resolution=form.cleaned_data["resolution"]
                )
            except (ValidationFailed, StateConflict, NotAllowed) as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The dispute was resolved."))
                return redirect("engagements:disputes")
    return render(
        request,
        "engagements/dispute_detail.html",
        {"dispute": dispute, "form": form},
        status=status,
    )
