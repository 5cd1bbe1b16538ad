"""Forms for the finance pages.

Forms check the shape of what was typed; the rules (cut-off dates, states, who
may act) live in ``payments.services``, whose errors the views put back on the
field they name.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consultants.models import PayoutMethod
from core.files import PrivateUploadField
from core.forms import PhaseChoiceField
from engagements.models import Phase, Study
from payments.models import PayoutBatch

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- building a batch --------------------------------------------------------------


class BatchBuildForm(forms.Form):
    cutoff_date = forms.DateField(
        label=gettext_lazy("Pay approved work up to"),
        help_text=gettext_lazy("Approved, unpaid work dated on or before this day is included."),
        widget=DATE_WIDGET,
        error_messages={"required": gettext_lazy("Enter the cut-off date.")},
    )
    study = forms.ModelChoiceField(
        label=gettext_lazy("Study (optional)"),
        queryset=Study.objects.none(),
        required=False,
        to_field_name="public_id",
        empty_label=gettext_lazy("Every study"),
    )
    phase = PhaseChoiceField(
        label=gettext_lazy("Phase (optional)"),
        queryset=Phase.objects.none(),
        required=False,
        empty_label=gettext_lazy("Every phase"),
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Payout method (optional)"),
        choices=[("", gettext_lazy("Every method")), *PayoutMethod.choices],
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"),
        help_text=gettext_lazy("For the approver: what this batch is for."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"cutoff_date": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = Study.objects.order_by("name")
        self.fields["phase"].queryset = Phase.objects.select_related("study").order_by(
            "study__name", "position", "id"
        )


class BatchFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Every status")), *PayoutBatch.Status.choices],
        required=False,
    )


# --- reasons -----------------------------------------------------------------------


class ReasonForm(forms.Form):
    """One required reason; the label and the message say what it is for."""

    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, label: str, required_message: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label
        self.fields["reason"].error_messages["required"] = required_message


def batch_cancel_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="cancel",
        label=_("Why is the batch cancelled?"),
        required_message=_("Say why the batch is cancelled."),
    )


def payment_void_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="void",
        label=_("Why is the payment voided?"),
        required_message=_("Say why the payment is voided."),
    )


def payment_cancel_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="cancel",
        label=_("Why is the payment cancelled?"),
        required_message=_("Say why the payment is cancelled."),
    )


def payment_return_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="return",
        label=_("Why did the payment come back?"),
        required_message=_("Say why the payment came back."),
    )


# --- recording a hand-over ---------------------------------------------------------


class ManualPaymentForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        help_text=gettext_lazy(
            "The check number, the card's last four digits, or the gift card's code reference."
        ),
        max_length=120,
        error_messages={"required": gettext_lazy("Enter the reference.")},
    )
    handed_over_on = forms.DateField(
        label=gettext_lazy("Date handed over"),
        widget=DATE_WIDGET,
        error_messages={"required": gettext_lazy("Enter the date it was handed over.")},
    )
    proof = PrivateUploadField(
        what=gettext_lazy("proof"), label=gettext_lazy("Proof (optional)"), required=False
    )

    def __init__(self, *args, payment=None, **kwargs):
        kwargs.setdefault("prefix", "record")
        kwargs.setdefault("initial", {"handed_over_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["proof"].help_text = _(
            "A scanned signature or a photo of the hand-over: JPEG, PNG, WebP or PDF, "
            "at most %(limit)s. Kept privately; only finance can download it."
        ) % {"limit": filesizeformat(settings.MAX_RECEIPT_UPLOAD_BYTES)}
        if payment is not None:
            self.fields["reference"].help_text = REFERENCE_HELP.get(
                payment.method, self.fields["reference"].help_text
            )


REFERENCE_HELP = {
    PayoutMethod.CHECK: gettext_lazy("The check number."),
    PayoutMethod.PREPAID_CARD: gettext_lazy("The card's last four digits."),
    PayoutMethod.GIFT_CARD: gettext_lazy("The gift card's code reference (not the code itself)."),
    PayoutMethod.CASH: gettext_lazy("The signed receipt or envelope reference."),
}


# --- receipts, statements and the tax summary ----------------------------------------


class StatementYearForm(forms.Form):
    year = forms.IntegerField(
        label=gettext_lazy("Year"),
        min_value=2000,
        max_value=9999,
        error_messages={"required": gettext_lazy("Choose a year.")},
    )


def receipt_replace_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="replace",
        label=_("Why is the receipt replaced?"),
        required_message=_("Say why the receipt is replaced."),
    )


def tax_export_form(data=None) -> ReasonForm:
    form = ReasonForm(
        data,
        prefix="export",
        label=_("Why are you exporting legal names and taxpayer ids?"),
        required_message=_("Say why you are exporting legal names and taxpayer ids."),
    )
    form.fields["reason"].help_text = _(
        "Kept with the record of who saw which identity data, and when."
    )
    return form


class ReceiptFilterForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), required=False, min_value=2000)
    number = forms.CharField(
        label=gettext_lazy("Receipt number"), required=False, max_length=32, strip=True
    )
