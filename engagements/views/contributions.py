"""One entry: logging it, its page, editing, submitting and adjusting it; and all entries."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import coordinator_required, get_visible_or_404, staff_required
from accounts.roles import FINANCE
from core.csv import csv_response, dated_filename, wants_csv
from core.errors import DomainError, StateConflict, ValidationFailed
from core.files import stored_file_download
from core.forms import show_error
from core.history import history_entries, plain_number
from engagements import exports, selectors
from engagements.forms import (
    AdjustmentForm,
    ContributionEditForm,
    ContributionFilterForm,
    ContributionForm,
    RejectForm,
)
from engagements.models import Contribution, Dispute
from engagements.services import contributions as contributions_services
from engagements.views.common import PAGE_SIZE, active_engagements, coordinates


@coordinator_required
def contribution_create(request):
    """One entry: hours, an honorarium or a reimbursement, with an optional receipt."""
    user = request.user
    form = ContributionForm(
        request.POST or None,
        request.FILES or None,
        engagements=active_engagements(user),
        initial={
            "engagement": request.GET.get("engagement", ""),
            "date": timezone.localdate(),
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                contribution = contributions_services.contribution_create(
                    engagement=data["engagement"],
                    by=user,
                    kind=data["kind"],
                    activity=data["activity"],
                    date=data["date"],
                    quantity=data["quantity"],
                    claimed_amount=data["claimed_amount"],
                    description=data["description"],
                    attachment=data.get("attachment") or None,
                    submit=request.POST.get("then") == "submit",
                )
            except (ValidationFailed, StateConflict) as exc:
                status = show_error(form, exc)
            else:
                if contribution.status == Contribution.Status.SUBMITTED:
                    messages.success(request, _("The entry was saved and sent for approval."))
                else:
                    messages.success(request, _("The entry was saved as a draft."))
                return redirect("engagements:contribution_detail", public_id=contribution.public_id)
    return render(
        request,
        "engagements/contribution_form.html",
        {"form": form, "creating": True, "file_lost": bool(request.FILES) and status != 200},
        status=status,
    )


def get_contribution(request, public_id) -> Contribution:
    return get_visible_or_404(
        selectors.contribution_rows(selectors.contributions_visible_to(request.user)),
        public_id=public_id,
    )


def payment_receipt(c: Contribution):
    """The receipt in force for the payment that paid this entry, or None.

    An entry is paid through one live payment item; the payment's current receipt is
    the one nothing replaced (payments.documents.receipts.current_receipt).
    """
    if c.status != Contribution.Status.PAID:
        return None
    from payments.documents.receipts import current_receipt
    from payments.models import Payment, PaymentItem

    item = (
        PaymentItem.objects.filter(contribution=c, live=True, payment__status=Payment.Status.PAID)
        .select_related("payment")
        .first()
    )
    return current_receipt(item.payment) if item else None


def contribution_page(request, c, *, reject_form=None, adjust_form=None, error="", status=200):
    user = request.user
    selectors.with_estimates([c])
    adjustments = selectors.with_estimates(
        selectors.contribution_rows(Contribution.objects.filter(adjusts=c)).order_by(
            "logged_at", "id"
        )
    )
    live = [a for a in adjustments if a.status != Contribution.Status.REJECTED]
    net_quantity = c.quantity + sum((a.quantity for a in live), Decimal("0"))
    net_amount = None
    if c.amount is not None:
        net_amount = c.amount + sum((a.amount for a in live if a.amount is not None), Decimal("0"))
    disputes = list(c.disputes.select_related("raised_by", "resolved_by").order_by("created_at"))
    locked = c.status in Contribution.LOCKED_STATUSES
    can_change = user.has_perm("engagements.change_contribution")
    can_approve = user.has_perm("engagements.approve_contribution")
    context = {
        "c": c,
        "adjustments": adjustments,
        "net_quantity": plain_number(net_quantity),
        "net_amount": net_amount,
        "has_pending_adjustments": any(
            a.status == Contribution.Status.SUBMITTED for a in adjustments
        ),
        "disputes": disputes,
        "open_dispute": next((d for d in disputes if d.status == Dispute.Status.OPEN), None),
        "history": history_entries(c, viewer=user),
        "you_logged": c.logged_by_id == user.pk,
        "you_edited": c.last_edited_by_id == user.pk,
        "can_edit": can_change and not locked and not c.is_adjustment,
        "can_submit": can_change and c.status == Contribution.Status.DRAFT,
        "can_decide": can_approve and c.status == Contribution.Status.SUBMITTED,
        "can_adjust": can_change and locked and not c.is_adjustment,
        "reject_form": reject_form or RejectForm(prefix="reject"),
        "adjust_form": adjust_form or AdjustmentForm(contribution=c, prefix="adjust"),
        "can_resolve": can_approve,
        "error": error,
        "payment_receipt": payment_receipt(c),
        # The receipt's own page is finance's; others see its number.
        "can_open_receipt": user.has_role(FINANCE),
        "is_receipt_image": c.attachment.name.rsplit(".", 1)[-1].lower() in ("jpg", "png", "webp")
        if c.attachment
        else False,
    }
    return render(request, "engagements/contribution_detail.html", context, status=status)


@staff_required
def contribution_detail(request, public_id):
    return contribution_page(request, get_contribution(request, public_id))


@coordinator_required
def contribution_edit(request, public_id):
    c = get_contribution(request, public_id)
    if c.status in Contribution.LOCKED_STATUSES:
        raise StateConflict(
            _("This entry is approved and read-only. Correct it with an adjustment instead.")
        )
    if c.is_adjustment:
        raise StateConflict(_("An adjustment cannot be edited; return it and add a new one."))
    form = ContributionEditForm(request.POST or None, request.FILES or None, contribution=c)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            changes = {name: data[name] for name in contributions_services.EDITABLE_FIELDS}
            if data.get("attachment"):
                changes["attachment"] = data["attachment"]
            try:
                contributions_services.contribution_update(
                    contribution=c, by=request.user, reason=data.get("reason", ""), **changes
                )
            except (ValidationFailed, StateConflict) as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("Your changes were saved."))
                return redirect("engagements:contribution_detail", public_id=c.public_id)
    return render(
        request,
        "engagements/contribution_form.html",
        {
            "form": form,
            "c": c,
            "creating": False,
            "file_lost": bool(request.FILES) and status != 200,
        },
        status=status,
    )


@coordinator_required
@require_POST
def contribution_submit(request, public_id):
    c = get_contribution(request, public_id)
    try:
        contributions_services.contribution_submit(contribution=c, by=request.user)
    except DomainError as exc:
        return contribution_page(request, c, error=exc.message, status=exc.status)
    messages.success(request, _("The entry was sent for approval."))
    return redirect("engagements:contribution_detail", public_id=c.public_id)


@coordinator_required
@require_POST
def contribution_adjust(request, public_id):
    c = get_contribution(request, public_id)
    form = AdjustmentForm(request.POST, contribution=c, prefix="adjust")
    if not form.is_valid():
        return contribution_page(request, c, adjust_form=form, status=400)
    data = form.cleaned_data
    try:
        adjustment = contributions_services.contribution_adjust(
            contribution=c,
            by=request.user,
            reason=data["reason"],
            quantity_delta=data.get("quantity_delta"),
            amount_delta=data.get("amount_delta"),
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return contribution_page(request, c, adjust_form=form, status=400)
    except DomainError as exc:
        return contribution_page(request, c, adjust_form=form, error=exc.message, status=exc.status)
    messages.success(request, _("The adjustment was added. Someone other than you approves it."))
    return redirect("engagements:contribution_detail", public_id=adjustment.public_id)


@login_required
def contribution_attachment(request, public_id):
    """The receipt of an entry, to staff or to the consultant it belongs to."""
    c = get_visible_or_404(selectors.contributions_visible_to(request.user), public_id=public_id)
    if not c.attachment:
        raise Http404
    response = stored_file_download(c.attachment, filename_stem=f"receipt-{c.date.isoformat()}")
    if response is None:
        raise Http404
    return response


@staff_required
def contribution_list(request):
    user = request.user
    filter_form = ContributionFilterForm(request.GET or None)
    entries = selectors.contributions_filtered(
        selectors.contribution_rows(selectors.contributions_visible_to(user)),
        **filter_form.filters(),
    ).order_by("-date", "-id")
    if wants_csv(request):
        return csv_response(
            header=exports.CONTRIBUTION_HEADER,
            rows=exports.contribution_csv_rows(entries.iterator(chunk_size=500)),
            filename=dated_filename("contributions"),
        )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/contribution_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "rows": selectors.with_estimates(page.object_list),
            "can_coordinate": coordinates(user),
        },
    )
