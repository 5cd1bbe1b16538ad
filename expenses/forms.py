"""Forms for claims and advances: they shape input; the services hold the rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consultants.models import PayoutMethod
from core.money import format_money
from core.numbers import AsciiDecimalField
from expenses.models import MAX_FILES, Category
from expenses.services import MANUAL_METHODS
from portal.forms import EngagementChoiceField

ACCEPT = "image/*,application/pdf"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files; each is checked (and re-made) by the service, not here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT, "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


def _files_help():
    return _("Photos or PDFs of the receipts, up to %(count)s files of at most %(size)s each.") % {
        "count": MAX_FILES,
        "size": filesizeformat(settings.MAX_RECEIPT_UPLOAD_BYTES),
    }


def _rate_text(rate: Decimal) -> str:
    """$0.70, or the rate as configured when it has fractions of a cent (0.655)."""
    return format_money(rate) if rate == rate.quantize(Decimal("0.01")) else f"{rate}"


def _amount_field(label, **kwargs):
    return AsciiDecimalField(
        label=label,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter the amount."),
            "invalid": _("Enter the amount as a number, for example 12.50."),
        },
        **kwargs,
    )


class ReimbursementForm(forms.Form):
    engagement = EngagementChoiceField(
        label=_("Which work is this for?"),
        queryset=None,
        to_field_name="public_id",
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the work this cost is for."),
            "invalid_choice": _("Choose one of your own engagements."),
        },
    )
    date = forms.DateField(
        label=_("Date of the cost"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the date of the cost."),
            "invalid": _("Enter the date as year-month-day, for example 2026-03-12."),
        },
    )
    category = forms.ChoiceField(
        label=_("What was it for?"),
        choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose what the cost was for."),
            "invalid_choice": _("Choose what the cost was for."),
        },
    )
    amount = _amount_field(
        _("Amount spent"),
        required=False,
        help_text=_("In dollars and cents. Not needed for mileage."),
    )
    distance = AsciiDecimalField(
        label=_("Distance travelled (mileage only)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"invalid": _("Enter the distance as a number, for example 12.5.")},
    )
    description = forms.CharField(
        label=_("What it was for (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    files = MultipleFileField(label=_("Receipts"), required=False)

    def __init__(self, *args, engagements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = engagements
        self.fields["date"].initial = timezone.localdate
        self.fields["files"].help_text = _files_help()
        self.fields["distance"].help_text = _(
            "In miles, one decimal place. Paid at %(rate)s per mile."
        ) % {"rate": _rate_text(Decimal(settings.MILEAGE_RATE))}
        if len(engagements) == 1:
            self.fields["engagement"].widget = forms.HiddenInput()


class ReceiptForm(forms.Form):
    amount = _amount_field(_("Amount on the receipt"))
    description = forms.CharField(
        label=_("What it was for (optional)"), required=False, max_length=200
    )
    file = forms.FileField(
        label=_("Photo or PDF of the receipt"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": _("Add a photo or PDF of the receipt.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(size)s.") % {
            "size": filesizeformat(settings.MAX_RECEIPT_UPLOAD_BYTES)
        }


class EngagementOfStudyField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.consultant.display_name} · {obj.phase.name} · {obj.role}"


class AdvanceGrantForm(forms.Form):
    engagement = EngagementOfStudyField(
        label=_("Consultant and engagement"),
        queryset=None,
        to_field_name="public_id",
        empty_label=_("Choose an engagement"),
    )
    purpose = forms.CharField(
        label=_("What it is for"),
        max_length=200,
        help_text=_("For example: train fare to the March session, childcare on the day."),
    )
    planned_for = forms.DateField(
        label=_("Date of the planned costs"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    amount = _amount_field(_("Amount"))

    def __init__(self, *args, engagements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = engagements


class SettleForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PayNowForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Pay it now by"),
        choices=[(m.value, m.label) for m in PayoutMethod if m in MANUAL_METHODS],
    )
