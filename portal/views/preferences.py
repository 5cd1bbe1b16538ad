"""The consultant's own preferences: how to reach them, how to pay them, their limit."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from consultants.services import consultant_update_preferences
from core.errors import DomainError
from core.forms import show_error
from core.history import history_entries
from portal.forms import PreferencesForm
from portal.views.page import portal_page

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
            "when": date_format(localtime(entry.when), "DATE_FORMAT"),
        }
        if entry.reason:
            text += f': "{entry.reason}"'
        lines.append(PreferenceChange(entry.when, text))
    lines.reverse()
    return lines


@portal_page
def preferences(request):
    consultant = request.consultant
    form = PreferencesForm(
        request.POST if request.method == "POST" else None, consultant=consultant
    )
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
