"""Approving and returning entries: one from its page, or many from the review queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import coordinator_required
from core.csv import csv_response, dated_filename, wants_csv
from core.errors import DomainError, ValidationFailed
from core.forms import show_error
from core.history import plain_number
from core.money import format_money
from engagements import exports, selectors
from engagements.forms import RejectForm, ReviewDecisionForm, ReviewFilterForm
from engagements.models import Contribution
from engagements.services import reviews as reviews_services
from engagements.views.common import PAGE_SIZE
from engagements.views.contributions import contribution_page, get_contribution


@coordinator_required
@require_POST
def contribution_approve(request, public_id):
    c = get_contribution(request, public_id)
    try:
        done = reviews_services.contribution_approve(
            contribution=c,
            by=request.user,
            seen_version=request.POST.get("seen_version"),
            override_reason=(request.POST.get("override_reason") or "")[:2000],
        )
    except DomainError as exc:
        return contribution_page(request, c, error=exc.message, status=exc.status)
    messages.success(
        request, _("The entry was approved at %(amount)s.") % {"amount": format_money(done.amount)}
    )
    return redirect("engagements:contribution_detail", public_id=c.public_id)


@coordinator_required
@require_POST
def contribution_reject(request, public_id):
    c = get_contribution(request, public_id)
    form = RejectForm(request.POST, prefix="reject")
    if not form.is_valid():
        return contribution_page(request, c, reject_form=form, status=400)
    try:
        reviews_services.contribution_reject(
            contribution=c,
            by=request.user,
            reason=form.cleaned_data["reason"],
            seen_version=request.POST.get("seen_version"),
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return contribution_page(request, c, reject_form=form, status=400)
    except DomainError as exc:
        return contribution_page(request, c, error=exc.message, status=exc.status)
    messages.success(request, _("The entry was returned with your reason."))
    return redirect("engagements:contribution_detail", public_id=c.public_id)


OUTCOME_LABELS = {
    "approved": gettext_lazy("Approved"),
    "returned": gettext_lazy("Returned"),
    "refused": gettext_lazy("Refused"),
    "conflict": gettext_lazy("Changed meanwhile"),
    "invalid": gettext_lazy("Not done"),
    "missing": gettext_lazy("Not found"),
}


def _row_label(c: Contribution) -> str:
    what = (
        format_money(c.claimed_amount)
        if c.kind == Contribution.Kind.REIMBURSEMENT
        else plain_number(c.quantity)
    )
    return " · ".join(
        [
            c.engagement.consultant.display_name,
            date_format(c.date, "SHORT_DATE_FORMAT"),
            f"{c.get_kind_display()} {what}",
        ]
    )


@coordinator_required
def review(request):
    """Entries waiting for approval, oldest first; approve or return one or many."""
    user = request.user
    filter_form = ReviewFilterForm(request.GET or None)
    filters = filter_form.filters()
    queue = selectors.review_queue(user, **filters)
    if wants_csv(request):
        return csv_response(
            header=exports.CONTRIBUTION_HEADER,
            rows=exports.contribution_csv_rows(queue.iterator(chunk_size=500)),
            filename=dated_filename("review"),
        )
    decision_form = None
    status = 200
    if request.method == "POST":
        decision_form = ReviewDecisionForm(request.POST)
        if decision_form.is_valid():
            wanted = decision_form.cleaned_data["selected"]
            found = {
                c.public_id: c
                for c in selectors.contributions_visible_to(user).filter(public_id__in=wanted)
            }
            decisions = reviews_services.contributions_decide(
                by=user,
                contributions=[found[w] for w in wanted if w in found],
                approve=decision_form.cleaned_data["decision"] == ReviewDecisionForm.APPROVE,
                reason=decision_form.cleaned_data["reason"],
                # Each row of the page carries the version of the entry it showed.
                seen_versions={w: request.POST.get(f"version-{w}") for w in wanted},
            )
            outcomes = [
                {
                    "label": _row_label(found[d.contribution.public_id]),
                    "outcome": d.outcome,
                    "outcome_label": str(OUTCOME_LABELS[d.outcome]),
                    "message": d.message,
                    "url": reverse(
                        "engagements:contribution_detail",
                        kwargs={"public_id": d.contribution.public_id},
                    ),
                }
                for d in decisions
            ]
            outcomes += [
                {
                    "label": str(w),
                    "outcome": "missing",
                    "outcome_label": str(OUTCOME_LABELS["missing"]),
                    "message": _("This entry does not exist or is not yours to see."),
                    "url": "",
                }
                for w in wanted
                if w not in found
            ]
            request.session["review_outcomes"] = outcomes
            return redirect(request.get_full_path())
        status = 400
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    # The filter lists the consultants with work waiting (and the one chosen), not everyone.
    filter_form.fields["consultant"].widget.choices = [
        ("", filter_form.fields["consultant"].empty_label),
        *selectors.review_consultant_choices(user, also=filters.get("consultant")),
    ]
    selected = set(decision_form.data.getlist("selected")) if decision_form else set()
    outcomes = request.session.pop("review_outcomes", [])
    return render(
        request,
        "engagements/review.html",
        {
            "filter_form": filter_form,
            "decision_form": decision_form or ReviewDecisionForm(),
            "page": page,
            "rows": selectors.with_estimates(page.object_list),
            "selected": selected,
            "outcomes": outcomes,
            "outcome_counts": _count_outcomes(outcomes),
        },
        status=status,
    )


def _count_outcomes(outcomes) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o["outcome_label"]] = counts.get(o["outcome_label"], 0) + 1
    return list(counts.items())
