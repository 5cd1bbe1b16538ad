"""Logging hours for a consultant: choose them, then fill in a week at a time."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import coordinator_required, get_visible_or_404
from consultants.models import Consultant
from consultants.selectors import consultants_visible_to
from core.errors import DomainError
from engagements import selectors
from engagements.models import Contribution
from engagements.services import contributions as contributions_services
from engagements.views.common import active_engagements
from engagements.weekgrid import WeekGrid, parse_week, week_label


@coordinator_required
def log_start(request):
    """Pick a consultant, then log a week of hours or a single entry for them."""
    user = request.user
    consultants = (
        consultants_visible_to(user)
        .filter(status=Consultant.Status.ACTIVE)
        .only("public_id", "display_name")
        .order_by("display_name", "id")
    )
    chosen = None
    engagements = []
    if request.GET.get("consultant"):
        chosen = get_visible_or_404(
            consultants_visible_to(user), public_id=request.GET["consultant"]
        )
        engagements = list(active_engagements(user, chosen))
    return render(
        request,
        "engagements/log_start.html",
        {"consultants": consultants, "chosen": chosen, "engagements": engagements},
    )


@coordinator_required
def week(request, public_id):
    """Hours for one consultant across their active engagements, a week at a time.

    One entry per filled cell, all in one transaction: if any cell is refused
    nothing is saved, and the page shows each cell's error with what was typed.
    """
    user = request.user
    consultant = get_visible_or_404(consultants_visible_to(user), public_id=public_id)
    today = timezone.localdate()
    requested = request.GET.get("week")
    monday = parse_week(requested)
    unreadable = monday is None and bool(requested)
    if monday is None:
        if unreadable and request.method != "POST":
            messages.warning(request, _("That week could not be read; here is this week."))
        monday = parse_week(week_label(today))
    engagements = list(active_engagements(user, consultant))
    logged = selectors.week_logged_entries(engagements, monday)
    grid = WeekGrid.build(
        engagements=engagements,
        monday=monday,
        today=today,
        logged=logged,
        data=request.POST if request.method == "POST" else None,
    )
    status = 200
    if request.method == "POST":
        submit = request.POST.get("then") == "submit"
        if unreadable:
            # Never save hours typed for one week into another.
            grid.errors.append(_("That week could not be read. Open the week again from the list."))
        elif not grid.filled:
            grid.errors.append(_("Enter hours in at least one cell."))
        elif not grid.has_errors:
            with transaction.atomic():
                for cell in grid.filled:
                    try:
                        contributions_services.contribution_create(
                            engagement=cell.engagement,
                            by=user,
                            kind=Contribution.Kind.HOURS,
                            activity=cell.activity,
                            date=cell.day,
                            quantity=cell.value,
                            description=grid.note_for(cell.engagement),
                            submit=submit,
                        )
                    except DomainError as exc:
                        cell.error = exc.message
                if grid.has_errors:
                    transaction.set_rollback(True)
        if not grid.has_errors:
            count = len(grid.filled)
            if submit:
                text = ngettext(
                    "%(count)d entry was saved and sent for approval.",
                    "%(count)d entries were saved and sent for approval.",
                    count,
                )
            else:
                text = ngettext(
                    "%(count)d entry was saved as a draft.",
                    "%(count)d entries were saved as drafts.",
                    count,
                )
            messages.success(request, text % {"count": count})
            return redirect(
                reverse("engagements:week", kwargs={"public_id": consultant.public_id})
                + f"?week={week_label(monday)}"
            )
        status = 400
    previous_week = week_label(monday - timedelta(days=7))
    next_week = week_label(monday + timedelta(days=7))
    return render(
        request,
        "engagements/week.html",
        {
            "consultant": consultant,
            "grid": grid,
            "week": week_label(monday),
            "previous_week": previous_week,
            "next_week": next_week if monday + timedelta(days=7) <= today else None,
            "sunday": monday + timedelta(days=6),
        },
        status=status,
    )
