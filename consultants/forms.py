"""Forms of the staff pages about consultants."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from consultants.models import Consultant


class ConsultantFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *Consultant.Status.choices],
        required=False,
    )
