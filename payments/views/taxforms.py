"""Finance's page about one consultant: tax-form standing, payments and holds; and
recording a W-9 or W-8BEN from there or from a held payment.

Thin views over ``consultants.services.taxform_receive``, which records the form
and releases every hold it resolves. The taxpayer id never comes back into a page:
only its last four digits, masked.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.access import finance_required, get_visible_or_404
from consultants.forms import TaxFormReceiveForm
from consultants.models import Consultant, TaxForm
from consultants.selectors import consultants_visible_to, mask_taxpayer_id
from consultants.services import TaxFormReceived, taxform_receive
from core.errors import DomainError
from core.files import stored_file_download
from core.forms import show_error
from core.history import history_entries
from income.selectors import active_plans_of
from payments import selectors
from payments.models import Payment
from payments.views.payments import _get_payment, _payment_page


def _get_consultant(request, public_id) -> Consultant:
    return get_visible_or_404(consultants_visible_to(request.user), public_id=public_id)


def tax_form_of(consultant: Consultant) -> TaxForm | None:
    try:
        return consultant.tax_form
    except ObjectDoesNotExist:
        return None


def _consultant_page(request, consultant: Consultant, *, form=None, status=200):
    tax_form = tax_form_of(consultant)
    payments = list(selectors.payments_of(consultant).select_related("batch"))
    context = {
        "consultant": consultant,
        "tax_form": tax_form,
        "tin_masked": mask_taxpayer_id(tax_form.tin_last4 if tax_form else ""),
        "payments": payments,
        "held": [p for p in payments if p.status == Payment.Status.HELD],
        "w9_held": sum(
            1
            for p in payments
            if p.status == Payment.Status.HELD and p.hold_reason == Payment.Hold.W9_MISSING
        ),
        "taxform_form": form or TaxFormReceiveForm(),
        "history": history_entries(tax_form, viewer=request.user) if tax_form else [],
        "page_title": _("Consultant's finances"),
        "pay_plans": active_plans_of(consultant),
    }
    return render(request, "payments/consultant_finance.html", context, status=status)


def record_tax_form(request, consultant: Consultant) -> tuple[TaxFormReceiveForm, int | None]:
    """Read the form and call the service; (form, None) when it worked, else the status."""
    form = TaxFormReceiveForm(request.POST, request.FILES)
    if not form.is_valid():
        return form, 400
    data = form.cleaned_data
    try:
        result = taxform_receive(
            consultant=consultant,
            by=request.user,
            form_type=data["form_type"],
            received_on=data["received_on"],
            tin=data.get("tin") or "",
            upload=data.get("upload") or None,
            reason=data["reason"],
        )
    except DomainError as exc:
        return form, show_error(form, exc)
    _tell(request, result)
    return form, None


def _tell(request, result: TaxFormReceived) -> None:
    form = result.form
    messages.success(
        request,
        _("The %(form)s was recorded as received.") % {"form": form.get_form_type_display()},
    )
    released = len(result.released)
    messages.success(
        request,
        ngettext(
            "%(count)d held payment was released.",
            "%(count)d held payments were released.",
            released,
        )
        % {"count": released},
    )
    for payment, why in result.still_held:
        messages.warning(
            request,
            _("A payment of %(amount)s %(currency)s is still held: %(why)s")
            % {"amount": payment.amount, "currency": payment.currency, "why": why},
        )


@finance_required
def consultant_finance(request, public_id):
    return _consultant_page(request, _get_consultant(request, public_id))


@finance_required
@sensitive_post_parameters("tin")
@require_POST
def consultant_taxform(request, public_id):
    consultant = _get_consultant(request, public_id)
    form, status = record_tax_form(request, consultant)
    if status is not None:
        return _consultant_page(request, consultant, form=form, status=status)
    return redirect("payments:consultant", public_id=consultant.public_id)


@finance_required
def consultant_taxform_file(request, public_id):
    """The signed tax form, to finance only, always as a download."""
    consultant = _get_consultant(request, public_id)
    tax_form = tax_form_of(consultant)
    if tax_form is None or not tax_form.signed_copy:
        raise Http404
    response = stored_file_download(
        tax_form.signed_copy, filename_stem=f"tax-form-{consultant.public_id}"
    )
    if response is None:
        raise Http404
    return response


@finance_required
@sensitive_post_parameters("tin")
@require_POST
def payment_taxform(request, public_id):
    """Record the W-9 (or W-8BEN) a held payment waits for, from that payment's page."""
    payment = _get_payment(request, public_id)
    form, status = record_tax_form(request, payment.consultant)
    if status is not None:
        return _payment_page(request, payment, taxform_form=form, status=status)
    return redirect("payments:payment", public_id=payment.public_id)
