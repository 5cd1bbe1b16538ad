"""Forms of the consultant's own portal.

Forms only read and shape what the person typed; the rules live in the
services (``engagements.services``, ``consultants.services``), whose errors
the views put back on the field they name.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consultants.models import CapPeriod, Consultant, PayoutMethod
from core.numbers import AsciiDecimalField
from engagements.models import Activity, Contribution

# ---------------------------------------------------------------- my work filter


class ContributionFilterForm(forms.Form):
    """The GET form above the list of one's own entries. Bad values are ignored."""

    phase = forms.TypedChoiceField(label=_("Phase"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, data=None, *, phases=(), **kwargs):
        super().__init__(data, **kwargs)
        many_studies = len({p.study_id for p in phases}) > 1
        self.fields["phase"].choices = [("", _("All phases"))] + [
            (p.pk, f"{p.study.name}: {p.name}" if many_studies else p.name) for p in phases
        ]
        self.fields["status"].choices = [("", _("All statuses")), *Contribution.Status.choices]


# ---------------------------------------------------------------- log my hours


class EngagementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.phase.name}: {obj.role} ({obj.phase.study.name})"


class LogHoursForm(forms.Form):
    engagement = EngagementChoiceField(
        label=_("Which work is this for?"),
        queryset=None,
        to_field_name="public_id",
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the work these hours are for."),
            "invalid_choice": _("Choose one of your own engagements."),
        },
    )
    date = forms.DateField(
        label=_("Date of the work"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the date of the work."),
            "invalid": _("Enter the date as year-month-day, for example 2026-03-12."),
        },
    )
    activity = forms.ChoiceField(
        label=_("What kind of work"),
        choices=Activity.choices,
        widget=forms.RadioSelect,
        initial=Activity.WORK,
        error_messages={
            "required": _("Choose what kind of work it was."),
            "invalid_choice": _("Choose what kind of work it was."),
        },
    )
    quantity = AsciiDecimalField(
        label=_("Hours"),
        help_text=_("In quarter hours: 1, 1.25, 1.5 or 1.75, for example."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter how many hours you worked."),
            "invalid": _("Enter the hours as a number, for example 1.5."),
        },
    )
    description = forms.CharField(
        label=_("What you did (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, engagements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = engagements
        self.fields["date"].initial = timezone.localdate

    def clean_quantity(self):
        # Only the shape here; the service says what is allowed (quarter hours, caps).
        quantity = self.cleaned_data["quantity"]
        if not quantity.is_finite():
            raise forms.ValidationError(_("Enter the hours as a number, for example 1.5."))
        return quantity


# ---------------------------------------------------------------- dispute


class DisputeForm(forms.Form):
    comment = forms.CharField(
        label=_("What is wrong with this entry?"),
        help_text=_("A coordinator reads this and answers here."),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Say what is wrong with this entry.")},
    )


# ---------------------------------------------------------------- preferences


def _from_model(name: str, **kwargs):
    """The model field's own form field, so labels and choices stay in one place."""
    return Consultant._meta.get_field(name).formfield(**kwargs)


NO_LIMIT = "none"


class PreferencesForm(forms.Form):
    """Everything in ``consultants.services.PREFERENCE_FIELDS``, grouped as the page shows it."""

    GROUPS = (
        (_("How you are paid"), ("payout_method", "gift_card_store")),
        (
            _("How you are named"),
            ("display_name", "pseudonym", "receipt_name", "credit_preference"),
        ),
        (
            _("How to reach you safely"),
            (
                "safe_contact_method",
                "safe_to_leave_message",
                "safe_contact_notes",
                "email",
                "phone",
            ),
        ),
        (_("Language and e-mails"), ("preferred_language", "email_receipts")),
        (_("Your own limit for benefits"), ("benefits_cap_period", "benefits_cap_amount")),
    )

    payout_method = _from_model(
        "payout_method",
        label=_("How would you like to be paid?"),
        widget=forms.RadioSelect,
    )
    gift_card_store = _from_model(
        "gift_card_store",
        label=_("Gift card store"),
        help_text=_("Only if you chose a gift card: which store?"),
    )
    display_name = _from_model(
        "display_name",
        label=_("Display name"),
        help_text=_("What staff see. A pseudonym is fine."),
    )
    pseudonym = _from_model(
        "pseudonym",
        label=_("Pseudonym"),
        help_text=_("Used where you choose it below."),
    )
    receipt_name = _from_model(
        "receipt_name", label=_("Name on your receipts"), widget=forms.RadioSelect
    )
    credit_preference = _from_model(
        "credit_preference",
        label=_("How you are credited in publications"),
        widget=forms.RadioSelect,
    )
    safe_contact_method = _from_model(
        "safe_contact_method",
        label=_("Safest way to reach you"),
        widget=forms.RadioSelect,
    )
    safe_to_leave_message = _from_model(
        "safe_to_leave_message", label=_("It is safe to leave a message")
    )
    safe_contact_notes = _from_model(
        "safe_contact_notes",
        label=_("Anything we should know before contacting you (optional)"),
        help_text=_("For example: only weekdays, 9 to 5."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    email = _from_model("email", label=_("E-mail (optional)"))
    phone = _from_model(
        "phone",
        label=_("Phone (optional)"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    preferred_language = _from_model(
        "preferred_language", label=_("Preferred language"), widget=forms.RadioSelect
    )
    email_receipts = _from_model("email_receipts", label=_("E-mail me when a receipt is ready"))
    benefits_cap_period = forms.ChoiceField(
        label=_("Do you want a limit?"),
        choices=[(NO_LIMIT, _("No limit")), *CapPeriod.choices],
        widget=forms.RadioSelect,
        initial=NO_LIMIT,
    )
    benefits_cap_amount = AsciiDecimalField(
        label=_("Your limit, in dollars"),
        required=False,
        max_digits=10,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "invalid": _("Enter the limit as an amount, for example 900 or 900.00."),
            "max_digits": _("That limit is too large."),
            "max_whole_digits": _("That limit is too large."),
            "max_decimal_places": _("Enter the limit in dollars and cents."),
        },
    )

    def __init__(self, *args, consultant: Consultant, **kwargs):
        initial = {name: getattr(consultant, name) for name in self.base_fields}
        initial["benefits_cap_period"] = consultant.benefits_cap_period or NO_LIMIT
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.setdefault("autocomplete", "email")
        if settings.CURRENCY != "USD":
            self.fields["benefits_cap_amount"].label = _("Your limit, in %(currency)s") % {
                "currency": settings.CURRENCY
            }

    def clean(self):
        data = super().clean()
        period = data.get("benefits_cap_period")
        amount = data.get("benefits_cap_amount")
        if period and period != NO_LIMIT:
            if amount is None and "benefits_cap_amount" not in self.errors:
                self.add_error(
                    "benefits_cap_amount", _("Enter the amount of your limit, or choose No limit.")
                )
            elif amount is not None and amount <= Decimal("0"):
                self.add_error("benefits_cap_amount", _("Your limit must be more than zero."))
        payout = data.get("payout_method")
        if payout == PayoutMethod.GIFT_CARD and not (data.get("gift_card_store") or "").strip():
            self.add_error("gift_card_store", _("Tell us which store's gift card you would like."))
        return data

    def changes(self) -> dict:
        """The cleaned values as ``consultant_update_preferences`` takes them."""
        data = dict(self.cleaned_data)
        if data["benefits_cap_period"] == NO_LIMIT:
            data["benefits_cap_period"] = ""
            data["benefits_cap_amount"] = None
        return data

    def groups(self):
        """(heading, [bound fields]) in the order the page shows them."""
        return [(heading, [self[name] for name in names]) for heading, names in self.GROUPS]
