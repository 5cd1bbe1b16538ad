"""Staff pages about consultants (display names only; never the vault, never contacts)."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404, staff_required
from accounts.roles import ADMIN, COORDINATOR, FINANCE
from consultants.forms import ConsultantFilterForm
from consultants.models import Consultant, PayoutMethod, TaxForm
from consultants.selectors import consultants_visible_to, history_hidden_fields
from core.csv import csv_response, dated_filename
from core.history import history_entries
from engagements import selectors

PAGE_SIZE = 50

# Contact details and the person's own benefits limit stay out of staff history.


def _tax_form_label(consultant, labels: dict[str, str] | None = None) -> str:
    try:
        form = consultant.tax_form
    except ObjectDoesNotExist:
        form = None
    if form is None:
        return str(TaxForm.Status.MISSING.label)
    if labels is not None:
        return labels.get(form.status, form.status)
    return form.get_status_display()


def _labels(choices) -> dict[str, str]:
    """A field's choices as plain strings, translated once per request.

    ``get_FOO_display`` rebuilds and hashes the whole choice list on every call.
    """
    return {value: str(label) for value, label in choices}


@staff_required
def consultant_list(request):
    form = ConsultantFilterForm(request.GET or None)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    consultants = selectors.consultants_for_staff(request.user, status=status)
    if request.GET.get("format") == "csv":
        rows = (
            [
                str(c.public_id),
                c.display_name,
                c.status,
                c.payout_method,
                _tax_form_label(c),
                c.active_engagements,
            ]
            for c in consultants.iterator(chunk_size=500)
        )
        return csv_response(
            header=[
                "consultant_id",
                "display_name",
                "status",
                "payout_preference",
                "w9",
                "active_engagements",
            ],
            rows=rows,
            filename=dated_filename("consultants"),
        )
    paginator = Paginator(consultants, PAGE_SIZE)
    # Counted without the engagements join and grouping the rows need.
    paginator.count = selectors.consultants_for_staff_count(request.user, status=status)
    page = paginator.get_page(request.GET.get("page"))
    statuses = _labels(Consultant.Status.choices)
    payout_methods = _labels(PayoutMethod.choices)
    tax_statuses = _labels(TaxForm.Status.choices)
    for c in page.object_list:
        c.tax_form_label = _tax_form_label(c, tax_statuses)
        c.status_label = statuses.get(c.status, c.status)
        c.payout_method_label = payout_methods.get(c.payout_method, c.payout_method)
    return render(
        request,
        "consultants/list.html",
        {
            "form": form,
            "page": page,
            "can_coordinate": request.user.is_superuser
            or request.user.has_role(COORDINATOR, ADMIN),
        },
    )


@staff_required
def consultant_detail(request, public_id):
    user = request.user
    consultant = get_visible_or_404(
        consultants_visible_to(user).select_related("tax_form"), public_id=public_id
    )
    recent = selectors.contribution_rows(
        selectors.contributions_visible_to(user).filter(engagement__consultant=consultant)
    ).order_by("-date", "-id")[:20]
    return render(
        request,
        "consultants/detail.html",
        {
            "consultant": consultant,
            "tax_form_label": _tax_form_label(consultant),
            "engagements": selectors.consultant_engagements(user, consultant),
            "recent": selectors.with_estimates(recent),
            "summary": selectors.consultant_summary(consultant),
            "history": history_entries(
                consultant, viewer=user, hidden_fields=history_hidden_fields(user, consultant)
            ),
            "can_coordinate": user.is_superuser or user.has_role(COORDINATOR, ADMIN),
            # Finance records tax forms on its own page about the consultant.
            "can_record_tax_form": user.has_role(FINANCE)
            and user.has_perm("consultants.change_taxform"),
            "page_title": _("Consultant"),
        },
    )
