"""Finance pages for one payment: its detail and the actions finance takes on it.

Thin views over ``payments.services.finance``; see ``payments.views.batches`` for
how errors come back.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import finance_required, get_visible_or_404
from consultants.forms import TaxFormReceiveForm
from core.errors import ValidationFailed
from core.files import stored_file_download
from core.forms import show_error
from payments import selectors
from payments.forms import (
    ManualPaymentForm,
    payment_cancel_form,
    payment_return_form,
    payment_void_form,
)
from payments.models import Payment, PayoutBatch, Rail
from payments.services import finance

PS = Payment.Status
BS = PayoutBatch.Status
# A held payment can be released while its batch may still pay it.
RELEASABLE_IN = (BS.DRAFT, BS.PENDING_APPROVAL, BS.APPROVED, BS.PROCESSING)


def _get_payment(request, public_id) -> Payment:
    return get_visible_or_404(
        selectors.payment_detail_rows(selectors.payments_visible_to(request.user)),
        public_id=public_id,
    )


def _can_retry(payment) -> bool:
    return payment.status == PS.FAILED and payment.rail == Rail.STRIPE


def _payment_page(
    request,
    payment,
    *,
    record_form=None,
    void_form=None,
    cancel_form=None,
    return_form=None,
    taxform_form=None,
    status=200,
):
    user = request.user
    selectors.split_items(payment)
    manual = payment.rail == Rail.MANUAL
    yours = payment.consultant.user_id is not None and payment.consultant.user_id == user.pk
    record_blocked = ""
    if manual and payment.status == PS.PENDING:
        record_blocked = _("Execute the batch before recording the hand-over.")
    elif manual and payment.status == PS.PROCESSING and yours:
        record_blocked = _("Nobody records a payment to themselves.")
    context = {
        "payment": payment,
        "batch": payment.batch,
        "attempts": list(payment.attempts.all()),
        "history": selectors.payout_history(payment, viewer=user),
        "yours": yours,
        "can_record": manual and payment.status == PS.PROCESSING and not yours,
        "record_blocked": record_blocked,
        # Only before the hand-over; money that came back is returned, by a second person.
        "can_void": manual and payment.status == PS.PROCESSING and not yours,
        "can_release": payment.status == PS.HELD and payment.batch.status in RELEASABLE_IN,
        "can_cancel": payment.status in (PS.PENDING, PS.HELD, PS.FAILED),
        "can_retry": _can_retry(payment),
        # A failed payment that was sent: Stripe is asked before it may be cancelled.
        "can_check_stripe": finance.needs_stripe_check(payment),
        "can_mark_returned": manual
        and payment.status == PS.PAID
        and not yours
        and payment.recorded_by_id != user.pk,
        "returned_blocked": _(
            "You recorded this payment as paid, so another finance person records that "
            "it came back."
        )
        if manual and payment.status == PS.PAID and payment.recorded_by_id == user.pk
        else "",
        "record_form": record_form or ManualPaymentForm(payment=payment),
        "void_form": void_form or payment_void_form(),
        "cancel_form": cancel_form or payment_cancel_form(),
        "return_form": return_form or payment_return_form(),
        # Held for a missing W-9: the form can be recorded from here (payments.views.taxforms).
        "can_record_taxform": payment.status == PS.HELD
        and payment.hold_reason == Payment.Hold.W9_MISSING,
        "taxform_form": taxform_form or TaxFormReceiveForm(),
        "proof_is_image": payment.proof.name.rsplit(".", 1)[-1].lower() in ("jpg", "png", "webp")
        if payment.proof
        else False,
    }
    return render(request, "payments/payment_detail.html", context, status=status)


@finance_required
def payment_detail(request, public_id):
    return _payment_page(request, _get_payment(request, public_id))


@finance_required
@require_POST
def payment_record(request, public_id):
    payment = _get_payment(request, public_id)
    form = ManualPaymentForm(request.POST, request.FILES, payment=payment)
    if not form.is_valid():
        return _payment_page(request, payment, record_form=form, status=400)
    data = form.cleaned_data
    try:
        finance.payment_record_manual(
            payment=payment,
            by=request.user,
            reference=data["reference"],
            handed_over_on=data["handed_over_on"],
            proof=data.get("proof") or None,
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _payment_page(request, payment, record_form=form, status=400)
    messages.success(request, _("The hand-over was recorded; the payment is paid."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_void(request, public_id):
    payment = _get_payment(request, public_id)
    form = payment_void_form(request.POST)
    if not form.is_valid():
        return _payment_page(request, payment, void_form=form, status=400)
    try:
        finance.payment_void(payment=payment, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        show_error(form, exc)
        return _payment_page(request, payment, void_form=form, status=400)
    messages.success(request, _("The payment was voided; its work can go in a later batch."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_release(request, public_id):
    payment = _get_payment(request, public_id)
    finance.payment_release_hold(payment=payment, by=request.user)
    messages.success(request, _("The hold was released; the payment goes ahead with its batch."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_cancel(request, public_id):
    payment = _get_payment(request, public_id)
    form = payment_cancel_form(request.POST)
    if not form.is_valid():
        return _payment_page(request, payment, cancel_form=form, status=400)
    try:
        finance.payment_cancel(payment=payment, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        show_error(form, exc)
        return _payment_page(request, payment, cancel_form=form, status=400)
    messages.success(request, _("The payment was cancelled; its work can go in a later batch."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_retry(request, public_id):
    payment = _get_payment(request, public_id)
    finance.payment_retry(payment=payment, by=request.user)
    messages.success(request, _("The payment is being tried again."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_check_stripe(request, public_id):
    """Ask Stripe (by a worker) whether a transfer exists for a failed payment."""
    payment = _get_payment(request, public_id)
    finance.payment_check_with_stripe(payment=payment, by=request.user)
    messages.success(
        request,
        _(
            "Honora is asking Stripe what it holds for this payment. Reload this page in a "
            "moment: a transfer found is recorded as paid; if none exists, it can be cancelled."
        ),
    )
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_mark_returned(request, public_id):
    payment = _get_payment(request, public_id)
    form = payment_return_form(request.POST)
    if not form.is_valid():
        return _payment_page(request, payment, return_form=form, status=400)
    try:
        finance.payment_mark_returned(
            payment=payment, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _payment_page(request, payment, return_form=form, status=400)
    messages.success(
        request, _("The payment was marked returned; its work can go in a later batch.")
    )
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
def payment_proof(request, public_id):
    """The proof of a hand-over, to finance only, always as a download."""
    payment = _get_payment(request, public_id)
    if not payment.proof:
        raise Http404
    response = stored_file_download(payment.proof, filename_stem=f"proof-{payment.public_id}")
    if response is None:
        raise Http404
    return response
