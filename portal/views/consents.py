"""The consultant's consent requests: each use asked of their words, and their answer."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import get_visible_or_404
from consents import selectors, services
from consents.forms import NoteForm
from consents.models import Attribution, ConsentEvent, Standing, Use
from core.errors import DomainError
from core.forms import show_error
from core.money import round_money
from portal.views.page import portal_page

# What would be used, said to the consultant.
USE_FOR_YOU = {
    Use.WORDS: gettext_lazy("Your words or a quote"),
    Use.STORY: gettext_lazy("Your story"),
    Use.IMAGE: gettext_lazy("Your image or voice"),
    Use.NAME: gettext_lazy("Your name"),
}
# Each event, said to the consultant.
EVENT_FOR_YOU = {
    ConsentEvent.Kind.GRANTED: gettext_lazy("You granted this use."),
    ConsentEvent.Kind.REFUSED: gettext_lazy("You refused this use."),
    ConsentEvent.Kind.REVOKED: gettext_lazy("You revoked this use. It must not be used again."),
    ConsentEvent.Kind.WITHDRAWN: gettext_lazy("The study withdrew this request."),
}


def _attribution(consent) -> str:
    consultant = consent.engagement.consultant
    if consent.attribution == Attribution.PSEUDONYM:
        return _("Your pseudonym: %(name)s") % {"name": consultant.pseudonym}
    if consent.attribution == Attribution.DISPLAY_NAME:
        return _("The name you chose: %(name)s") % {"name": consultant.display_name}
    return _("No name: it would be anonymous")


def _honorarium(consent):
    if not consent.honoraria:
        return None
    rate = services.honorarium_rate(consent.engagement)
    each = rate.amount if rate else None
    return {
        "count": consent.honoraria,
        "each": each,
        "total": round_money(each * consent.honoraria) if each is not None else None,
    }


def _facts(consent) -> dict:
    return {
        "use_words": USE_FOR_YOU.get(consent.use, consent.get_use_display()),
        "attribution_words": _attribution(consent),
        "honorarium": _honorarium(consent),
    }


@portal_page
def consents(request):
    rows = [
        (c, USE_FOR_YOU.get(c.use, c.get_use_display()))
        for c in selectors.requests_of(request.consultant.pk)
    ]
    return render(request, "portal/consents.html", {"rows": rows})


def _own(request, public_id):
    return get_visible_or_404(selectors.requests_of(request.consultant.pk), public_id=public_id)


@portal_page
def consent_detail(request, public_id):
    consent = _own(request, public_id)
    status = 200
    form = NoteForm()
    if request.method == "POST":
        answer = request.POST.get("answer")
        form = NoteForm(request.POST)
        status = 400
        if answer not in ("grant", "refuse"):
            form.add_error(None, _("Choose grant or refuse."))
        elif form.is_valid():
            try:
                if answer == "grant":
                    services.consent_grant(request=consent, by=request.user)
                else:
                    services.consent_refuse(
                        request=consent, by=request.user, note=form.cleaned_data["note"]
                    )
            except DomainError as exc:
                status = show_error(form, exc)
                consent = _own(request, public_id)
            else:
                if answer == "grant":
                    messages.success(request, _("Thank you. You granted this use."))
                else:
                    messages.success(request, _("Thank you. You refused this use."))
                return redirect("portal:consent", public_id=consent.public_id)
    return _render_detail(request, consent, form, status)


def _render_detail(request, consent, form, status=200, template="portal/consent_detail.html"):
    events = [(e, EVENT_FOR_YOU.get(e.kind, "")) for e in selectors.events_of(consent)]
    return render(
        request,
        template,
        {
            "consent": consent,
            "events": events,
            "form": form,
            "Standing": Standing,
            **_facts(consent),
        },
        status=status,
    )


@portal_page
def consent_revoke(request, public_id):
    """The confirm step before a revocation; no reason is asked."""
    consent = _own(request, public_id)
    form = NoteForm()
    status = 200
    if request.method == "POST":
        form = NoteForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                services.consent_revoke(
                    request=consent, by=request.user, note=form.cleaned_data["note"]
                )
            except DomainError as exc:
                status = show_error(form, exc)
                consent = _own(request, public_id)
            else:
                messages.success(
                    request,
                    _("You revoked this use. The study has been told to stop using it."),
                )
                return redirect("portal:consent", public_id=consent.public_id)
    return _render_detail(request, consent, form, status, template="portal/consent_revoke.html")
