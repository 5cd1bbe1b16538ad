"""Forms for the coordinator pages.

Forms check the shape of what was typed; the rules (caps, dates, who may act)
live in the services, whose errors the views put back on the matching field.
"""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consultants.models import Consultant
from core.files import PrivateUploadField
from core.forms import PhaseChoiceField
from core.numbers import AsciiDecimalField
from engagements.models import (
    Activity,
    Contribution,
    Engagement,
    PayCalendar,
    Phase,
    RateCard,
    Study,
)

# --- receipts ---------------------------------------------------------------------


class ReceiptField(PrivateUploadField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Receipt or proof (optional)"))
        super().__init__(what=gettext_lazy("receipts"), **kwargs)


# --- one entry ----------------------------------------------------------------------


class EngagementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, e):
        return f"{e.consultant.display_name} · {e.phase.study.name} · {e.phase.name} · {e.role}"


class ContributionFieldsMixin(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What is it?"),
        choices=Contribution.Kind.choices,
        widget=forms.RadioSelect,
        initial=Contribution.Kind.HOURS,
    )
    activity = forms.ChoiceField(label=gettext_lazy("Activity"), choices=Activity.choices)
    date = forms.DateField(
        label=gettext_lazy("Date of the work"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    quantity = AsciiDecimalField(
        label=gettext_lazy("Hours, or number of honoraria"),
        help_text=gettext_lazy("Hours in quarter hours (1.25 is an hour and a quarter)."),
        required=False,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    claimed_amount = AsciiDecimalField(
        label=gettext_lazy("Amount spent (reimbursements)"),
        help_text=gettext_lazy("In dollars and cents, for example 23.40."),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachment = ReceiptField()

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Contribution.Kind.REIMBURSEMENT:
            if data.get("claimed_amount") is None and "claimed_amount" not in self.errors:
                self.add_error("claimed_amount", _("Enter the amount spent."))
            data["quantity"] = None
        elif kind in (Contribution.Kind.HOURS, Contribution.Kind.HONORARIUM):
            if data.get("quantity") is None and "quantity" not in self.errors:
                self.add_error(
                    "quantity",
                    _("Enter the hours.")
                    if kind == Contribution.Kind.HOURS
                    else _("Enter how many honoraria (usually 1)."),
                )
            data["claimed_amount"] = None
        return data


class ContributionForm(ContributionFieldsMixin):
    """A single entry: hours, an honorarium or a reimbursement, with a receipt."""

    engagement = EngagementChoiceField(
        label=gettext_lazy("Engagement"),
        queryset=Engagement.objects.none(),
        to_field_name="public_id",
        empty_label=gettext_lazy("Choose an engagement"),
    )

    field_order = ["engagement", "kind", "activity", "date", "quantity", "claimed_amount"]

    def __init__(self, *args, engagements=None, **kwargs):
        super().__init__(*args, **kwargs)
        if engagements is not None:
            self.fields["engagement"].queryset = engagements


class ContributionEditForm(ContributionFieldsMixin):
    reason = forms.CharField(
        label=gettext_lazy("Why are you changing it?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, contribution: Contribution, **kwargs):
        self.contribution = contribution
        initial = {
            "kind": contribution.kind,
            "activity": contribution.activity,
            "date": contribution.date,
            "quantity": None
            if contribution.kind == Contribution.Kind.REIMBURSEMENT
            else contribution.quantity,
            "claimed_amount": contribution.claimed_amount,
            "description": contribution.description,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["attachment"].label = _("Replace the receipt (optional)")
        if contribution.status == Contribution.Status.SUBMITTED:
            self.fields["reason"].required = True
            self.fields["reason"].help_text = _(
                "This entry is already waiting for approval, so the history keeps your reason."
            )
            self.fields["reason"].error_messages["required"] = _(
                "Say why you are changing an entry that was already submitted."
            )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it being returned?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say why the entry is being returned.")},
    )


class AdjustmentForm(forms.Form):
    quantity_delta = AsciiDecimalField(
        label=gettext_lazy("Change in hours or count"),
        help_text=gettext_lazy("For example 0.5 to add half an hour, -1 to take one away."),
        required=False,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    amount_delta = AsciiDecimalField(
        label=gettext_lazy("Change in the amount"),
        help_text=gettext_lazy("For example 5.00 to add five dollars, -2.50 to take some away."),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why is it being adjusted?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say why the entry is being adjusted.")},
    )

    def __init__(self, *args, contribution: Contribution, **kwargs):
        super().__init__(*args, **kwargs)
        # Hours and honoraria change by a quantity; reimbursements by an amount.
        if contribution.kind == Contribution.Kind.REIMBURSEMENT:
            del self.fields["quantity_delta"]
            self.fields["amount_delta"].required = True
            self.fields["amount_delta"].error_messages["required"] = _(
                "Enter the change in the amount."
            )
        else:
            del self.fields["amount_delta"]
            self.fields["quantity_delta"].required = True
            self.fields["quantity_delta"].error_messages["required"] = _(
                "Enter the change in the quantity."
            )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=gettext_lazy("How was it resolved?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say how the dispute was resolved.")},
    )


# --- engagements --------------------------------------------------------------------


class RateCardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, card):
        return f"{card.study.name} · {card.name}"


class EngagementForm(forms.Form):
    consultant = forms.ModelChoiceField(
        label=gettext_lazy("Consultant"),
        queryset=Consultant.objects.none(),
        to_field_name="public_id",
        empty_label=gettext_lazy("Choose a consultant"),
    )
    phase = PhaseChoiceField(
        label=gettext_lazy("Study and phase"),
        queryset=Phase.objects.select_related("study").order_by("study__name", "position"),
        empty_label=gettext_lazy("Choose a phase"),
    )
    role = forms.CharField(label=gettext_lazy("Role"), max_length=120)
    rate_card = RateCardChoiceField(
        label=gettext_lazy("Rate card"),
        help_text=gettext_lazy("It must belong to the same study as the phase."),
        queryset=RateCard.objects.select_related("study").order_by("study__name", "name"),
        to_field_name="public_id",
        empty_label=gettext_lazy("Choose a rate card"),
    )
    hours_cap = AsciiDecimalField(
        label=gettext_lazy("Hours cap (optional)"),
        required=False,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    budget = AsciiDecimalField(
        label=gettext_lazy("Budget (optional)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args, consultants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consultant"].queryset = consultants

    def clean(self):
        data = super().clean()
        phase, card = data.get("phase"), data.get("rate_card")
        if phase and card and phase.study_id != card.study_id:
            self.add_error("rate_card", _("Choose a rate card of the study this phase belongs to."))
        return data


# --- filters --------------------------------------------------------------------------


class ConsultantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, consultant):
        return consultant.display_name


class ReviewFilterForm(forms.Form):
    study = forms.ModelChoiceField(
        label=gettext_lazy("Study"),
        queryset=Study.objects.order_by("name"),
        to_field_name="public_id",
        required=False,
        empty_label=gettext_lazy("All studies"),
    )
    phase = PhaseChoiceField(
        label=gettext_lazy("Phase"),
        queryset=Phase.objects.select_related("study").order_by("study__name", "position"),
        required=False,
        empty_label=gettext_lazy("All phases"),
    )
    consultant = ConsultantChoiceField(
        label=gettext_lazy("Consultant"),
        queryset=Consultant.objects.only("public_id", "display_name").order_by("display_name"),
        to_field_name="public_id",
        required=False,
        empty_label=gettext_lazy("Everyone"),
    )

    def filters(self) -> dict:
        """The valid filters only: a bad one is reported and left out."""
        if not self.is_bound:
            return {}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {k: v for k, v in cleaned.items() if v not in (None, "")}


class ContributionFilterForm(ReviewFilterForm):
    engagement = forms.ModelChoiceField(
        queryset=Engagement.objects.all(),
        to_field_name="public_id",
        required=False,
        widget=forms.HiddenInput,
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *Contribution.Status.choices],
        required=False,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("Any kind")), *Contribution.Kind.choices],
        required=False,
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class ReviewDecisionForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"

    selected = forms.TypedMultipleChoiceField(
        coerce=uuid.UUID,
        error_messages={"required": gettext_lazy("Choose at least one entry.")},
    )
    decision = forms.ChoiceField(choices=[(APPROVE, APPROVE), (REJECT, REJECT)])
    reason = forms.CharField(
        label=gettext_lazy("Reason for returning (needed to return entries)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be posted; the view looks them up among what the person may see.
        raw = self.data.getlist("selected") if self.is_bound else []
        self.fields["selected"].choices = [(v, v) for v in raw]

    def clean_selected(self):
        values = self.cleaned_data["selected"]
        if len(values) > 200:
            raise forms.ValidationError(_("Choose at most 200 entries at a time."))
        return values

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.REJECT and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the entries are being returned."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet saved as CSV"),
        help_text=gettext_lazy("In your spreadsheet choose File, Save as, CSV UTF-8."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


WEEKDAYS = (
    ("0", gettext_lazy("Monday")),
    ("1", gettext_lazy("Tuesday")),
    ("2", gettext_lazy("Wednesday")),
    ("3", gettext_lazy("Thursday")),
    ("4", gettext_lazy("Friday")),
    ("5", gettext_lazy("Saturday")),
    ("6", gettext_lazy("Sunday")),
)


class PayCalendarForm(forms.Form):
    """The study's time-to-pay target and batch days (engagements.paydates)."""

    time_to_pay_days = forms.IntegerField(
        label=gettext_lazy("Time-to-pay target, in days"),
        help_text=gettext_lazy("Approved work is paid within this many days (1 to 60)."),
        min_value=1,
        max_value=60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    calendar = forms.ChoiceField(
        label=gettext_lazy("Payout calendar"),
        choices=PayCalendar.choices,
        widget=forms.RadioSelect,
    )
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("Batch weekdays (for a weekly calendar)"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    monthdays = forms.CharField(
        label=gettext_lazy("Batch days of the month (for a monthly calendar)"),
        help_text=gettext_lazy("Numbers from 1 to 28, separated by commas: 1, 15"),
        required=False,
        max_length=90,
    )
    reason = forms.CharField(
        label=gettext_lazy("Why it changes"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_monthdays(self) -> list[int]:
        raw = self.cleaned_data.get("monthdays") or ""
        days = []
        for part in raw.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if (
                not (part.isascii() and part.isdigit() and len(part) <= 2)
                or not 1 <= int(part) <= 28
            ):
                raise forms.ValidationError(
                    _("Write days from 1 to 28, separated by commas (every month has them).")
                )
            days.append(int(part))
        return days

    def chosen_days(self) -> list[int]:
        if self.cleaned_data["calendar"] == PayCalendar.WEEKLY:
            return [int(d) for d in self.cleaned_data.get("weekdays") or []]
        if self.cleaned_data["calendar"] == PayCalendar.MONTHLY:
            return self.cleaned_data.get("monthdays") or []
        return []

    @classmethod
    def initial_for(cls, study: Study) -> dict[str, object]:
        days = [str(d) for d in study.batch_days]
        return {
            "time_to_pay_days": study.time_to_pay_days,
            "calendar": study.pay_calendar,
            "weekdays": days if study.pay_calendar == PayCalendar.WEEKLY else [],
            "monthdays": ", ".join(days) if study.pay_calendar == PayCalendar.MONTHLY else "",
        }
