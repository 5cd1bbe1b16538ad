"""The coordinators' consent ledger: per study, every use and its standing."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import coordinator_required, get_visible_or_404
from consents import selectors, services
from consents.forms import ConsentRequestForm, NoteForm, StandingFilterForm
from consents.models import ConsentEvent
from consents.notifications import known_as
from core.errors import DomainError
from core.forms import show_error
from engagements.models import Engagement, Study
from engagements.selectors import engagements_visible_to

PAGE_SIZE = 50

# Each event, in the ledger's words (the consultant named as staff know them).
EVENT_WORDS = {
    ConsentEvent.Kind.GRANTED: gettext_lazy("%(who)s granted this use on %(when)s."),
    ConsentEvent.Kind.REFUSED: gettext_lazy("%(who)s refused this use on %(when)s."),
    ConsentEvent.Kind.REVOKED: gettext_lazy(
        "%(who)s revoked this use on %(when)s. Do not use it again."
    ),
    ConsentEvent.Kind.WITHDRAWN: gettext_lazy("%(who)s withdrew this request on %(when)s."),
}


def _event_lines(consent) -> list:
    consultant_user = consent.engagement.consultant.user_id
    lines = []
    for e in selectors.events_of(consent):
        who = known_as(consent) if e.by_id == consultant_user else e.by.get_short_name()
        when = date_format(localtime(e.at), "DATE_FORMAT")
        lines.append((e, EVENT_WORDS[e.kind] % {"who": who, "when": when}))
    return lines


@coordinator_required
def ledger(request, public_id):
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    form = StandingFilterForm(request.GET or None)
    standing = ""
    if form.is_bound and form.is_valid():
        standing = form.cleaned_data["standing"]
    page = Paginator(selectors.ledger(study.pk, standing=standing), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "consents/ledger.html",
        {"study": study, "form": form, "page": page, "standing": standing},
    )


@coordinator_required
def request_create(request, public_id):
    user = request.user
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    engagements = (
        engagements_visible_to(user)
        .filter(phase__study=study, status=Engagement.Status.ACTIVE)
        .order_by("consultant__display_name", "phase__position", "id")
    )
    form = ConsentRequestForm(request.POST or None, engagements=engagements)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                consent = services.consent_request(by=user, **data)
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The request was sent to the consultant."))
                return redirect("consents:detail", public_id=consent.public_id)
    return render(
        request, "consents/request_form.html", {"study": study, "form": form}, status=status
    )


@coordinator_required
def detail(request, public_id):
    consent = get_visible_or_404(
        selectors.consent_requests_visible_to(request.user), public_id=public_id
    )
    return _detail(request, consent, NoteForm())


def _detail(request, consent, form, status=200):
    return render(
        request,
        "consents/detail.html",
        {
            "consent": consent,
            "known_as": known_as(consent),
            "events": _event_lines(consent),
            "form": form,
            "study": consent.engagement.phase.study,
        },
        status=status,
    )


@coordinator_required
@require_POST
def withdraw(request, public_id):
    consent = get_visible_or_404(
        selectors.consent_requests_visible_to(request.user), public_id=public_id
    )
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, consent, form, status=400)
    try:
        services.consent_withdraw(request=consent, by=request.user, note=form.cleaned_data["note"])
    except DomainError as exc:
        status = show_error(form, exc)
        consent = selectors.consent_requests_visible_to(request.user).get(pk=consent.pk)
        return _detail(request, consent, form, status=status)
    messages.success(request, _("The request was withdrawn."))
    return redirect("consents:detail", public_id=consent.public_id)
