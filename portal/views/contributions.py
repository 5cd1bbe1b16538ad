"""The consultant's entries: the list, one entry with its history, and disputing it."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404
from core.errors import DomainError
from core.forms import show_error
from core.history import history_entries_many
from engagements.models import Dispute
from engagements.services.disputes import dispute_open
from portal.forms import ContributionFilterForm, DisputeForm
from portal.selectors import contributions_of, disputes_on, entry_values, phases_of
from portal.views.page import portal_page

PAGE_SIZE = 50


@portal_page
def contributions(request):
    consultant = request.consultant
    phases = list(phases_of(consultant))
    form = ContributionFilterForm(request.GET or None, phases=phases)
    entries = contributions_of(consultant)
    filtered = False
    if form.is_bound:
        form.is_valid()  # a value that is not a choice is simply not applied
        phase = form.cleaned_data.get("phase")
        status = form.cleaned_data.get("status")
        if phase:
            entries = entries.filter(engagement__phase_id=phase)
            filtered = True
        if status:
            entries = entries.filter(status=status)
            filtered = True
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    values = entry_values(rows)
    return render(
        request,
        "portal/contributions.html",
        {
            "form": form,
            "page": page,
            "rows": [(c, values[c.pk]) for c in rows],
            "filtered": filtered,
            "has_phases": bool(phases),
        },
    )


@portal_page
def contribution_detail(request, public_id):
    consultant = request.consultant
    contribution = get_visible_or_404(contributions_of(consultant), public_id=public_id)
    form = DisputeForm()
    status = 200
    if request.method == "POST":
        form = DisputeForm(request.POST)
        if form.is_valid():
            try:
                dispute_open(
                    contribution=contribution,
                    by=request.user,
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Thank you. The entry is marked as disputed and a coordinator will look at it."
                    ),
                )
                return redirect("portal:contribution", public_id=contribution.public_id)
        else:
            status = 400

    adjustments = list(contributions_of(consultant).filter(adjusts=contribution))
    values = entry_values([contribution, *adjustments])
    # The entry's history and each adjustment's, read together: the same queries
    # however many adjustments there are.
    histories = history_entries_many([contribution, *adjustments], viewer=request.user)
    disputes = list(disputes_on(contribution))
    open_dispute = next((d for d in disputes if d.status == Dispute.Status.OPEN), None)
    return render(
        request,
        "portal/contribution_detail.html",
        {
            "c": contribution,
            "value": values[contribution.pk],
            "history": histories[contribution.pk],
            "adjustments": [(a, values[a.pk], histories[a.pk]) for a in adjustments],
            "disputes": disputes,
            "open_dispute": open_dispute,
            "form": form,
        },
        status=status,
    )
