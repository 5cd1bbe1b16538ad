"""Staff pages: an engagement's agreement versions, issuing one, recording a paper one."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import coordinator_required, get_visible_or_404, staff_required
from accounts.models import User
from accounts.roles import ADMIN, COORDINATOR
from agreements import selectors, services
from agreements.forms import IssueForm, PaperForm
from core.errors import DomainError
from core.forms import show_error
from engagements.selectors import engagements_visible_to


def _contacts():
    return (
        User.objects.filter(is_active=True, groups__name__in=[COORDINATOR, ADMIN])
        .distinct()
        .order_by("name", "email")
    )


def _page(request, engagement, *, issue_form=None, paper_form=None, status=200):
    versions = list(
        selectors.versions_visible_to(request.user)
        .filter(engagement=engagement)
        .order_by("-number")
    )
    can = request.user.has_perm(services.ISSUE_PERM)
    latest = versions[0] if versions else None
    return render(
        request,
        "agreements/engagement_agreements.html",
        {
            "engagement": engagement,
            "rows": [(v, selectors.acceptance_of(v)) for v in versions],
            "latest": latest,
            "latest_acceptance": selectors.acceptance_of(latest) if latest else None,
            "can_issue": can,
            "issue_form": issue_form or IssueForm(contacts=_contacts()),
            "paper_form": paper_form or PaperForm(),
        },
        status=status,
    )


@staff_required
def engagement_agreements(request, public_id):
    """Every version of the engagement's agreement, its text and its acceptance."""
    engagement = get_visible_or_404(engagements_visible_to(request.user), public_id=public_id)
    return _page(request, engagement)


@coordinator_required
@require_POST
def agreement_issue(request, public_id):
    engagement = get_visible_or_404(engagements_visible_to(request.user), public_id=public_id)
    form = IssueForm(request.POST, contacts=_contacts())
    status = 400
    if form.is_valid():
        try:
            version = services.agreement_issue(
                engagement=engagement, by=request.user, contact=form.cleaned_data["contact"]
            )
        except DomainError as exc:
            status = show_error(form, exc)
        else:
            messages.success(
                request,
                _("Version %(number)s was issued for the consultant to accept.")
                % {"number": version.number},
            )
            return redirect("agreements:engagement", public_id=public_id)
    return _page(request, engagement, issue_form=form, status=status)


@coordinator_required
@require_POST
def agreement_record_paper(request, public_id):
    version = get_visible_or_404(selectors.versions_visible_to(request.user), public_id=public_id)
    engagement = version.engagement
    form = PaperForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.agreement_record_paper(
                version=version,
                by=request.user,
                witnessed_by=form.cleaned_data["witnessed_by"],
                accepted_on=form.cleaned_data["accepted_on"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            status = show_error(form, exc)
        else:
            messages.success(request, _("The paper acceptance was recorded."))
            return redirect("agreements:engagement", public_id=engagement.public_id)
    return _page(request, engagement, paper_form=form, status=status)
