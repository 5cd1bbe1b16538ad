"""Forms of the staff pages about consultants."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from consultants.models import Consultant, TaxForm
from core.files import PrivateUploadField


class ConsultantFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *Consultant.Status.choices],
        required=False,
    )


class TaxFormReceiveForm(forms.Form):
    """Finance records a W-9 or W-8BEN it received (the rules are ``taxform_receive``'s).

    The taxpayer id is a password-style input that is never written back into the
    page, not even when the form comes back with an error.
    """

    prefix = "taxform"

    form_type = forms.ChoiceField(
        label=gettext_lazy("Form received"),
        choices=TaxForm.FormType.choices,
        initial=TaxForm.FormType.W9,
        widget=forms.RadioSelect,
    )
    received_on = forms.DateField(
        label=gettext_lazy("Date received"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": gettext_lazy("Enter the date the form was received.")},
    )
    tin = forms.CharField(
        label=gettext_lazy("Taxpayer id"),
        help_text=gettext_lazy(
            "From the form: SSN, ITIN or EIN on a W-9; the foreign id, if any, on a W-8BEN. "
            "Kept encrypted; only its last four digits are shown. Leave empty to keep the one "
            "on file."
        ),
        required=False,
        max_length=40,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )
    upload = PrivateUploadField(
        what=gettext_lazy("signed tax forms"),
        label=gettext_lazy("Signed form (optional)"),
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("Why are you recording it?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say why you are recording this tax form.")},
    )
