"""The consultant logs their own hours, which go straight to a coordinator for approval."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.forms import show_error
from engagements.models import Contribution
from engagements.services.contributions import contribution_create
from portal.forms import LogHoursForm
from portal.selectors import active_engagements_of
from portal.views.page import portal_page


@portal_page
def log_hours(request):
    consultant = request.consultant
    engagements = active_engagements_of(consultant)
    initial = {}
    choices = list(engagements)
    if len(choices) == 1:
        initial["engagement"] = choices[0].public_id
    form = LogHoursForm(
        request.POST if request.method == "POST" else None, engagements=engagements, initial=initial
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                contribution = contribution_create(
                    engagement=data["engagement"],
                    by=request.user,
                    kind=Contribution.Kind.HOURS,
                    activity=data["activity"],
                    date=data["date"],
                    quantity=data["quantity"],
                    description=data["description"],
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Your hours were sent for approval. A coordinator will review them."),
                )
                return redirect("portal:contribution", public_id=contribution.public_id)
        else:
            status = 400
    return render(
        request,
        "portal/log_hours.html",
        {"form": form, "has_engagements": bool(choices)},
        status=status,
    )
