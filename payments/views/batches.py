"""Finance pages for payout batches (build, check, submit, approve, execute, cancel)
and the Stripe onboarding status of consultants.

Thin views over ``payments.services`` and ``payments.selectors``. Every change is
a POST that calls one service. A service's input error goes back on the form it
came from (400); a rule about who may act (403) or a state that changed in the
meantime (409) is left to ``DomainErrorMiddleware``, which renders a calm page
with that status, never a 500. Consultants appear by display name only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import finance_required, get_visible_or_404
from core.errors import StateConflict, ValidationFailed
from core.forms import show_error
from payments import selectors
from payments.forms import (
    BatchBuildForm,
    BatchFilterForm,
    batch_cancel_form,
)
from payments.models import PayoutBatch
from payments.services import batches as batch_actions
from payments.stripe.countries import country_name

BATCHES_PER_PAGE = 50
PAYMENTS_PER_PAGE = 100
CONSULTANTS_PER_PAGE = 100

BS = PayoutBatch.Status


@finance_required
def home(request):
    """Every payout batch, newest first, with its totals."""
    form = BatchFilterForm(request.GET or None)
    batches = selectors.batch_rows(selectors.batches_visible_to(request.user))
    if form.is_valid() and form.cleaned_data["status"]:
        batches = batches.filter(status=form.cleaned_data["status"])
    page = Paginator(batches.order_by("-created_at", "-id"), BATCHES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "payments/home.html",
        {"form": form, "page": page, "batches": page.object_list},
    )


@finance_required
def batch_build(request):
    form = BatchBuildForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                batch = batch_actions.batch_build(
                    by=request.user,
                    cutoff_date=data["cutoff_date"],
                    study=data["study"],
                    phase=data["phase"],
                    method=data["method"],
                    note=data["note"],
                )
            except ValidationFailed as exc:
                show_error(form, exc)
            else:
                messages.success(
                    request,
                    _("The batch was built. Check its flags, then send it for approval."),
                )
                return redirect("payments:batch", public_id=batch.public_id)
    return render(request, "payments/batch_build.html", {"form": form}, status=status)


def _get_batch(request, public_id) -> PayoutBatch:
    return get_visible_or_404(
        selectors.batches_visible_to(request.user).select_related(
            "created_by",
            "approved_by",
            "executed_by",
            "cancelled_by",
            "study",
            "phase",
            "phase__study",
        ),
        public_id=public_id,
    )


def _batch_page(request, batch, *, cancel_form=None, status=200, funding_flag=""):
    user = request.user
    summary = selectors.batch_summary(batch)
    page = Paginator(selectors.batch_payments(batch), PAYMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    payments = [selectors.split_items(p) for p in page.object_list]
    you_built = batch.created_by_id == user.pk
    you_are_paid = user.pk in summary.payee_user_ids
    approve_blocked = ""
    if you_built:
        approve_blocked = _("You built this batch, so another finance person must approve it.")
    elif you_are_paid:
        approve_blocked = _("You are paid in this batch, so someone else must approve it.")
    execute_blocked = (
        _("You are paid in this batch, so someone else must execute it.") if you_are_paid else ""
    )
    context = {
        "batch": batch,
        "summary": summary,
        "page": page,
        "payments": payments,
        "history": selectors.payout_history(batch, viewer=user),
        "can_submit": batch.status == BS.DRAFT,
        "can_approve": batch.status == BS.PENDING_APPROVAL,
        "approve_blocked": approve_blocked,
        "can_execute": batch.status == BS.APPROVED,
        "funding_flag": funding_flag,
        "execute_blocked": execute_blocked,
        "can_cancel": batch.status in PayoutBatch.CANCELLABLE,
        "cancel_form": cancel_form or batch_cancel_form(),
        "live": batch.status == BS.PROCESSING,
        "held_out": selectors.disputed_work_held_out(batch)
        if batch.status in (BS.DRAFT, BS.PENDING_APPROVAL, BS.APPROVED, BS.PROCESSING)
        else [],
    }
    return render(request, "payments/batch_detail.html", context, status=status)


@finance_required
def batch_detail(request, public_id):
    return _batch_page(request, _get_batch(request, public_id))


@finance_required
@never_cache
def batch_progress(request, public_id):
    """Where the batch stands, as JSON, for the page to poll while it pays."""
    batch = _get_batch(request, public_id)
    return JsonResponse(selectors.batch_progress(batch).as_json())


@finance_required
@require_POST
def batch_submit(request, public_id):
    batch = _get_batch(request, public_id)
    batch_actions.batch_submit(batch=batch, by=request.user)
    messages.success(request, _("The batch was sent for approval by another finance person."))
    return redirect("payments:batch", public_id=batch.public_id)


@finance_required
@require_POST
def batch_approve(request, public_id):
    batch = _get_batch(request, public_id)
    batch_actions.batch_approve(batch=batch, by=request.user)
    messages.success(request, _("The batch was approved. It can be executed now."))
    return redirect("payments:batch", public_id=batch.public_id)


@finance_required
@require_POST
def batch_execute(request, public_id):
    batch = _get_batch(request, public_id)
    try:
        batch_actions.batch_execute_funded(batch=batch, by=request.user)
    except StateConflict as exc:
        if exc.code not in ("balance_insufficient", "stripe_balance_unavailable"):
            raise
        # Stripe's balance does not cover the batch (or could not be read): a pre-flight
        # flag on the batch's own page; nothing changed.
        return _batch_page(request, batch, status=exc.status, funding_flag=exc.message)
    messages.success(
        request,
        _(
            "Paying has started. Direct deposits go out in the background; record each "
            "check, card or cash hand-over on its payment."
        ),
    )
    return redirect("payments:batch", public_id=batch.public_id)


@finance_required
@require_POST
def batch_cancel(request, public_id):
    batch = _get_batch(request, public_id)
    form = batch_cancel_form(request.POST)
    if not form.is_valid():
        return _batch_page(request, batch, cancel_form=form, status=400)
    try:
        batch_actions.batch_cancel(batch=batch, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        show_error(form, exc)
        return _batch_page(request, batch, cancel_form=form, status=400)
    messages.success(request, _("The batch was cancelled; its work can go in a later batch."))
    return redirect("payments:batch", public_id=batch.public_id)


@finance_required
def stripe_status(request):
    """Who is paid by direct deposit, and whether Stripe can pay them yet."""
    page = Paginator(selectors.stripe_onboarding_rows(), CONSULTANTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = []
    for consultant in page.object_list:
        account = getattr(consultant, "stripe_account", None)
        state = selectors.onboarding_state(account)
        rows.append(
            {
                "consultant": consultant,
                "account": account,
                "state": state,
                "state_label": selectors.OnboardingState.LABELS[state],
                "due": len(account.requirements_due) if account else 0,
                "country_name": country_name(account.country) if account else "",
            }
        )
    return render(
        request,
        "payments/stripe_status.html",
        {"page": page, "rows": rows},
    )
