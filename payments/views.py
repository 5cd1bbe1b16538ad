"""Finance pages: payout batches, payments, Stripe onboarding status, receipts,
annual statements and the year's tax summary.

Thin views over ``payments.services`` and ``payments.selectors``. Every change is
a POST that calls one service. A service's input error goes back on the form it
came from (400); a rule about who may act (403) or a state that changed in the
meantime (409) is left to ``DomainErrorMiddleware``, which renders a calm page
with that status, never a 500. Consultants appear by display name only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import finance_required, get_visible_or_404
from consultants.models import TaxForm
from core.errors import StateConflict, ValidationFailed
from core.files import bytes_download, stored_file_download
from core.forms import show_error
from payments import receipts as receipts_service
from payments import selectors, services, statements
from payments.documents import AnnualStatement, Receipt
from payments.forms import (
    BatchBuildForm,
    BatchFilterForm,
    ManualPaymentForm,
    ReceiptFilterForm,
    StatementYearForm,
    batch_cancel_form,
    payment_cancel_form,
    payment_return_form,
    payment_void_form,
    receipt_replace_form,
    tax_export_form,
)
from payments.models import Payment, PayoutBatch, Rail
from payments.receipts import document_filename, document_pdf, receipt_status

BATCHES_PER_PAGE = 50
PAYMENTS_PER_PAGE = 100
CONSULTANTS_PER_PAGE = 100

PS = Payment.Status
BS = PayoutBatch.Status
ZERO = selectors.ZERO
CONSULTANT_CONTACT = ("email", "phone", "safe_contact_notes")
# A held payment can be released while its batch may still pay it.
RELEASABLE_IN = (BS.DRAFT, BS.PENDING_APPROVAL, BS.APPROVED, BS.PROCESSING)


def _private(response):
    response["Cache-Control"] = "private, no-store"
    return response


# --- batches -------------------------------------------------------------------------


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
                batch = services.batch_build(
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


def _batch_page(request, batch, *, cancel_form=None, status=200):
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
        "execute_blocked": execute_blocked,
        "can_cancel": batch.status in PayoutBatch.CANCELLABLE,
        "cancel_form": cancel_form or batch_cancel_form(),
        "live": batch.status == BS.PROCESSING,
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
    services.batch_submit(batch=batch, by=request.user)
    messages.success(request, _("The batch was sent for approval by another finance person."))
    return redirect("payments:batch", public_id=batch.public_id)


@finance_required
@require_POST
def batch_approve(request, public_id):
    batch = _get_batch(request, public_id)
    services.batch_approve(batch=batch, by=request.user)
    messages.success(request, _("The batch was approved. It can be executed now."))
    return redirect("payments:batch", public_id=batch.public_id)


@finance_required
@require_POST
def batch_execute(request, public_id):
    batch = _get_batch(request, public_id)
    services.batch_execute(batch=batch, by=request.user)
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
        services.batch_cancel(batch=batch, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        show_error(form, exc)
        return _batch_page(request, batch, cancel_form=form, status=400)
    messages.success(request, _("The batch was cancelled; its work can go in a later batch."))
    return redirect("payments:batch", public_id=batch.public_id)


# --- one payment ---------------------------------------------------------------------


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
        "can_void": manual and payment.status in (PS.PROCESSING, PS.PAID),
        "can_release": payment.status == PS.HELD and payment.batch.status in RELEASABLE_IN,
        "can_cancel": payment.status in (PS.PENDING, PS.HELD, PS.FAILED),
        "can_retry": _can_retry(payment),
        # A failed payment that was sent: Stripe is asked before it may be cancelled.
        "can_check_stripe": services.needs_stripe_check(payment),
        "can_mark_returned": manual and payment.status == PS.PAID and not yours,
        "record_form": record_form or ManualPaymentForm(payment=payment),
        "void_form": void_form or payment_void_form(),
        "cancel_form": cancel_form or payment_cancel_form(),
        "return_form": return_form or payment_return_form(),
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
        services.payment_record_manual(
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
        services.payment_void(payment=payment, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        show_error(form, exc)
        return _payment_page(request, payment, void_form=form, status=400)
    messages.success(request, _("The payment was voided; its work can go in a later batch."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_release(request, public_id):
    payment = _get_payment(request, public_id)
    services.payment_release_hold(payment=payment, by=request.user)
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
        services.payment_cancel(
            payment=payment, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _payment_page(request, payment, cancel_form=form, status=400)
    messages.success(request, _("The payment was cancelled; its work can go in a later batch."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_retry(request, public_id):
    payment = _get_payment(request, public_id)
    services.payment_retry(payment=payment, by=request.user)
    messages.success(request, _("The payment is being tried again."))
    return redirect("payments:payment", public_id=payment.public_id)


@finance_required
@require_POST
def payment_check_stripe(request, public_id):
    """Ask Stripe (by a worker) whether a transfer exists for a failed payment."""
    payment = _get_payment(request, public_id)
    services.payment_check_with_stripe(payment=payment, by=request.user)
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
        services.payment_mark_returned(
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


# --- Stripe onboarding ---------------------------------------------------------------


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
            }
        )
    return render(
        request,
        "payments/stripe_status.html",
        {"page": page, "rows": rows},
    )


# --- receipts ------------------------------------------------------------------------

RECEIPTS_PER_PAGE = 100


def _download(request, document):
    """The stored bytes, checked against their hash; an altered file is never served."""
    try:
        data = document_pdf(document)
    except StateConflict as exc:  # still being rendered, or altered (DocumentUnavailable)
        return render(
            request,
            "payments/document_unavailable.html",
            {"message": exc.message},
            status=exc.status,
        )
    return bytes_download(
        data, filename=document_filename(document), content_type="application/pdf"
    )


@finance_required
def receipts(request):
    """Every receipt, newest first: who (display name), how much, valid or replaced."""
    form = ReceiptFilterForm(request.GET or None)
    rows = selectors.receipt_rows(selectors.receipts_visible_to(request.user))
    if form.is_valid():
        if form.cleaned_data["year"]:
            rows = rows.filter(year=form.cleaned_data["year"])
        if form.cleaned_data["number"]:
            rows = rows.filter(number__iexact=form.cleaned_data["number"])
    page = Paginator(rows.order_by("-year", "-sequence"), RECEIPTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "payments/receipts.html",
        {
            "form": form,
            "page": page,
            "receipts": [
                {
                    "r": r,
                    "status": receipt_status(r),
                    "replaced_by": getattr(r, "replaced_by", None),
                }
                for r in page.object_list
            ],
        },
    )


def _get_receipt(request, public_id) -> Receipt:
    return get_visible_or_404(
        selectors.receipt_detail_rows(selectors.receipts_visible_to(request.user)),
        public_id=public_id,
    )


def _receipt_page(request, receipt, *, replace_form=None, status=200):
    replaced_by = getattr(receipt, "replaced_by", None)
    context = {
        "receipt": receipt,
        "replaced_by": replaced_by,
        "status": receipt_status(receipt),
        "lines": receipt.lines,
        "can_replace": replaced_by is None and receipt.payment.status == PS.PAID,
        "replace_form": replace_form or receipt_replace_form(),
    }
    return render(request, "payments/receipt_detail.html", context, status=status)


@finance_required
def receipt_detail(request, public_id):
    return _receipt_page(request, _get_receipt(request, public_id))


@finance_required
@require_POST
def receipt_replace(request, public_id):
    """Issue a corrected receipt; the one it replaces stays available, marked replaced."""
    receipt = _get_receipt(request, public_id)
    form = receipt_replace_form(request.POST)
    if not form.is_valid():
        return _receipt_page(request, receipt, replace_form=form, status=400)
    try:
        new = receipts_service.receipt_replace(
            receipt=receipt, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _receipt_page(request, receipt, replace_form=form, status=400)
    messages.success(
        request,
        _("Receipt %(new)s replaces %(old)s. Its PDF is being prepared.")
        % {"new": new.number, "old": receipt.number},
    )
    return redirect("payments:receipt", public_id=new.public_id)


@finance_required
def receipt_pdf(request, public_id):
    return _download(request, _get_receipt(request, public_id))


# --- annual statements -----------------------------------------------------------------


def _year(year: int) -> int:
    if not 2000 <= year <= timezone.localdate().year:
        raise Http404
    return year


@finance_required
def statements_year(request, year):
    """Everyone paid in ``year`` and their latest statement; prepare them all at once."""
    year = _year(year)
    consultants = list(statements.paid_consultants(year).defer(*CONSULTANT_CONTACT))
    latest = {}
    for s in AnnualStatement.objects.filter(
        year=year, consultant__in=[c.pk for c in consultants]
    ).order_by("version"):
        latest[s.consultant_id] = s
    waiting = statements.consultants_waiting([c.pk for c in consultants], year)
    return render(
        request,
        "payments/statements.html",
        {
            "year": year,
            "years": _year_choices(),
            "progress": statements.statement_progress(year),
            "rows": [
                {"c": c, "statement": latest.get(c.pk), "pending": c.pk in waiting}
                for c in consultants
            ],
        },
    )


@finance_required
@require_POST
def statements_generate(request, year):
    year = _year(year)
    enqueued = statements.statements_request_year(year=year, by=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s statement is being prepared by a background worker.",
            "%(count)s statements are being prepared by background workers.",
            len(enqueued),
        )
        % {"count": len(enqueued)},
    )
    return redirect("payments:statements", year=year)


@finance_required
def statement_pdf(request, public_id):
    statement = get_visible_or_404(
        selectors.statements_visible_to(request.user), public_id=public_id
    )
    return _download(request, statement)


# --- the year's tax summary ------------------------------------------------------------


def _year_choices() -> list[int]:
    this_year = timezone.localdate().year
    paid = {
        d.year
        for d in Payment.objects.filter(status=PS.PAID, paid_at__isnull=False).dates(
            "paid_at", "year"
        )
    }
    return sorted(paid | {this_year, this_year - 1}, reverse=True)


@finance_required
def tax_home(request):
    """The year picker lands here: on to the chosen year (default: the latest paid year)."""
    form = StatementYearForm(request.GET or None)
    if form.is_valid():
        return redirect("payments:tax", year=form.cleaned_data["year"])
    return redirect("payments:tax", year=_year_choices()[0])


def _tax_page(request, year, *, export_form=None, status=200):
    summary = statements.tax_summary(year)
    labels = dict(TaxForm.Status.choices)
    rows = [
        {
            "consultant": row.consultant,
            "stripe": row.stripe,
            "manual": row.manual,
            "reportable": row.reportable,
            "reimbursements": row.reimbursements,
            "reached": summary.reached(row),
            "w9": row.w9_status,
            "w9_label": labels.get(row.w9_status, row.w9_status),
        }
        for row in summary.rows
    ]
    context = {
        "year": year,
        "years": _year_choices(),
        "summary": summary,
        "rows": rows,
        "totals": {
            "stripe": sum((r["stripe"] for r in rows), ZERO),
            "manual": sum((r["manual"] for r in rows), ZERO),
            "reportable": sum((r["reportable"] for r in rows), ZERO),
            "reimbursements": sum((r["reimbursements"] for r in rows), ZERO),
            "reached": sum(1 for r in rows if r["reached"]),
            "missing_w9": sum(1 for r in rows if r["reached"] and r["w9"] != "received"),
        },
        "export_form": export_form or tax_export_form(),
        "progress": statements.statement_progress(year),
    }
    return render(request, "payments/tax_summary.html", context, status=status)


@finance_required
def tax_summary(request, year):
    """Each consultant's reportable total by rail; display names only, never identity."""
    return _tax_page(request, _year(year))


@finance_required
@require_POST
def tax_export(request, year):
    """The 1099-NEC CSV: legal names and taxpayer ids, each reveal recorded with the reason."""
    year = _year(year)
    form = tax_export_form(request.POST)
    if not form.is_valid():
        return _tax_page(request, year, export_form=form, status=400)
    try:
        text = statements.tax_summary_csv(
            year=year, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _tax_page(request, year, export_form=form, status=400)
    return bytes_download(
        text.encode("utf-8"),
        filename=f"tax-summary-{year}.csv",
        content_type="text/csv; charset=utf-8",
    )
