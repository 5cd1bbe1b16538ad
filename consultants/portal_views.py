"""The consultant's own portal: everything that concerns them, nothing else.

Every view works on ``request.consultant`` (set by ``consultant_required``) and
reads through selectors scoped to that one consultant, so another person's
record is a 404. Writes go through the services; their errors go back on the
form field they name, with the status they carry (400, 403 or 409). Pages are
never cached, so that after a quick exit, or on a shared device, nothing can
be shown again from the browser's cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.access import consultant_required, get_visible_or_404
from consultants.forms import ContributionFilterForm, DisputeForm, LogHoursForm, PreferencesForm
from consultants.services import consultant_update_preferences
from core.errors import DomainError
from core.forms import show_error
from core.history import history_entries, history_entries_many
from engagements.models import Contribution, Dispute
from engagements.selectors import (
    active_engagements_of,
    benefits_cap_status,
    consultant_summary,
    contributions_of,
    disputes_on,
    entry_values,
    phases_of,
)
from engagements.services import contribution_create, dispute_open

PAGE_SIZE = 50


def portal_page(view):
    """A page of the portal: signed in, a consultant, never cached."""
    return never_cache(consultant_required(view))


# ------------------------------------------------------------------------- home


@dataclass
class ChartRow:
    month: object
    hours: Decimal
    earned: Decimal
    pending: Decimal
    hours_percent: int
    earned_percent: int


def _month_chart(by_month) -> list[ChartRow]:
    most_hours = max((t.hours for _m, t in by_month), default=Decimal("0"))
    most_earned = max((t.earned for _m, t in by_month), default=Decimal("0"))

    def percent(value, top):
        return int(value * 100 / top) if top > 0 else 0

    return [
        ChartRow(
            month=month,
            hours=t.hours,
            earned=t.earned,
            pending=t.pending,
            hours_percent=percent(t.hours, most_hours),
            earned_percent=percent(t.earned, most_earned),
        )
        for month, t in by_month
    ]


@portal_page
def home(request):
    consultant = request.consultant
    summary = consultant_summary(consultant)
    periods = [
        (_("This month"), summary.month),
        (_("This year"), summary.year),
        (_("All time"), summary.all_time),
    ]
    return render(
        request,
        "portal/home.html",
        {
            "consultant": consultant,
            "summary": summary,
            "periods": periods,
            "chart": _month_chart(summary.by_month),
            "cap": benefits_cap_status(consultant, summary),
        },
    )


# ------------------------------------------------------------------- my work


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


# ------------------------------------------------------------- log my hours


@portal_page
def log_hours(request):
    consultant = request.consultant
    engagements = active_engagements_of(consultant)
    initial = {}
    choices = list(engagements)
    if len(choices) == 1:
        initial["engagement"] = choices[0].public_id
    form = LogHoursForm(request.POST or None, engagements=engagements, initial=initial)
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


# -------------------------------------------------------------- preferences

# Contact details stay off the history list: it may be read on a shared screen.
PRIVATE_PREFERENCES = {"email", "phone", "safe_contact_notes"}


@dataclass
class PreferenceChange:
    when: object
    sentence: str


def _preference_history(consultant, viewer) -> list[PreferenceChange]:
    lines = []
    for entry in history_entries(consultant, viewer=viewer, hidden_fields=("user",)):
        if not entry.changes:
            lines.append(PreferenceChange(entry.when, entry.sentence))
            continue
        what = "; ".join(
            _("%(field)s (not shown here)") % {"field": c.label}
            if c.field in PRIVATE_PREFERENCES
            else _("%(field)s from %(old)s to %(new)s")
            % {"field": c.label, "old": c.old or "—", "new": c.new or "—"}
            for c in entry.changes
        )
        text = _("%(actor)s changed %(what)s on %(when)s") % {
            "actor": entry.actor,
            "what": what,
            "when": date_format(localtime(entry.when), "j F Y"),
        }
        if entry.reason:
            text += f': "{entry.reason}"'
        lines.append(PreferenceChange(entry.when, text))
    lines.reverse()
    return lines


@portal_page
def preferences(request):
    consultant = request.consultant
    form = PreferencesForm(request.POST or None, consultant=consultant)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changed = {
                name: value
                for name, value in form.changes().items()
                if getattr(consultant, name) != (value.strip() if isinstance(value, str) else value)
            }
            if not changed:
                messages.info(request, _("Nothing to save: your preferences were already so."))
                return redirect("portal:preferences")
            try:
                consultant_update_preferences(consultant=consultant, by=request.user, **changed)
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("Your preferences are saved."))
                return redirect("portal:preferences")
        else:
            status = 400
    return render(
        request,
        "portal/preferences.html",
        {"form": form, "history": _preference_history(consultant, request.user)},
        status=status,
    )
