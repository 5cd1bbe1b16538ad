"""Studies and engagements: the dashboard, one study, one engagement, engaging a consultant."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import coordinator_required, get_visible_or_404, staff_required
from accounts.roles import ADMIN, FINANCE
from agreements.selectors import latest_versions
from consultants.models import Consultant
from consultants.selectors import consultants_visible_to
from core.errors import DomainError, StateConflict, ValidationFailed
from core.forms import show_error
from core.history import history_entries
from engagements import selectors
from engagements.forms import WEEKDAYS, EngagementForm, PayCalendarForm
from engagements.models import Engagement, PayCalendar, Study
from engagements.services import engagements as engagements_services
from engagements.views.common import PAGE_SIZE, coordinates
from promises import selectors as promise_selectors


@staff_required
def dashboard(request):
    """The list of studies, or straight to the only one."""
    studies = list(selectors.studies_with_counts())
    if len(studies) == 1:
        return redirect("engagements:study_dashboard", public_id=studies[0].public_id)
    return render(request, "engagements/study_list.html", {"studies": studies})


@staff_required
def study_dashboard(request, public_id):
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    return render(
        request,
        "engagements/dashboard.html",
        {
            "d": selectors.study_dashboard(study),
            "can_coordinate": coordinates(request.user),
            "slips": promise_selectors.open_slips(study=study),
            "time_to_pay": promise_selectors.distribution(
                promise_selectors.payment_times(study=study)
            ),
            "today": timezone.localdate(),
        },
    )


@staff_required
def study_engagements(request, public_id):
    """Every engagement of a study with its hours cap and budget used, a page at a time."""
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    ids = (
        Engagement.objects.filter(phase__study=study)
        .order_by(*selectors.BURN_ORDER)
        .values_list("pk", flat=True)
    )
    page = Paginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/study_engagements.html",
        {"study": study, "page": page, "engagements": selectors.burn_rows(page.object_list)},
    )


def batch_days_in_words(study: Study) -> str:
    """Weekdays by name ("Tuesday, Friday"), days of the month as numbers ("1, 15")."""
    if study.pay_calendar == PayCalendar.WEEKLY:
        names = dict(WEEKDAYS)
        return ", ".join(str(names[str(d)]) for d in study.batch_days)
    return ", ".join(str(d) for d in study.batch_days)


def _sets_pay_calendar(user) -> bool:
    return user.has_role(FINANCE, ADMIN) or user.is_superuser


@staff_required
def study_pay_calendar(request, public_id):
    """The study's batch days and time-to-pay target: finance and admin set them,
    coordinators see them."""
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    can_set = _sets_pay_calendar(request.user)
    status = 200
    form = PayCalendarForm(initial=PayCalendarForm.initial_for(study))
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied
        form = PayCalendarForm(request.POST)
        if form.is_valid():
            try:
                engagements_services.study_set_pay_calendar(
                    study=study,
                    by=request.user,
                    time_to_pay_days=form.cleaned_data["time_to_pay_days"],
                    calendar=form.cleaned_data["calendar"],
                    days=form.chosen_days(),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The payout calendar is saved."))
                return redirect("engagements:study_pay_calendar", public_id=study.public_id)
        else:
            status = 400
    return render(
        request,
        "engagements/pay_calendar.html",
        {
            "study": study,
            "form": form if can_set else None,
            "batch_days": batch_days_in_words(study),
            "history": history_entries(study, viewer=request.user),
        },
        status=status,
    )


@staff_required
def engagement_detail(request, public_id):
    user = request.user
    engagement = get_visible_or_404(
        selectors.with_burn(selectors.engagements_visible_to(user)).prefetch_related(
            "rate_card__rates"
        ),
        public_id=public_id,
    )
    selectors.decorate_burn([engagement])
    entries = selectors.contribution_rows(
        selectors.contributions_visible_to(user).filter(engagement=engagement)
    ).order_by("-date", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            "engagement": engagement,
            "page": page,
            "entries": selectors.with_estimates(page.object_list),
            "history": history_entries(engagement, viewer=user),
            "can_coordinate": coordinates(user),
            "agreement": next(
                iter(latest_versions(Engagement.objects.filter(pk=engagement.pk))), None
            ),
        },
    )


@coordinator_required
def engagement_create(request):
    user = request.user
    consultants = (
        consultants_visible_to(user)
        .filter(status=Consultant.Status.ACTIVE)
        .only("public_id", "display_name")
        .order_by("display_name", "id")
    )
    form = EngagementForm(
        request.POST or None,
        consultants=consultants,
        initial={"consultant": request.GET.get("consultant", "")},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                engagement = engagements_services.engagement_create(by=user, **form.cleaned_data)
            except (ValidationFailed, StateConflict) as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The engagement was created."))
                return redirect("engagements:engagement_detail", public_id=engagement.public_id)
    return render(request, "engagements/engagement_form.html", {"form": form}, status=status)
