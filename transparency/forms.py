from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from transparency.models import REASON_MAX


class PeriodForm(forms.Form):
    period_end = forms.DateField(
        label=_("Figures up to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_period_end(self):
        value = self.cleaned_data["period_end"]
        if value > timezone.localdate() or value.year < 2000:
            raise forms.ValidationError(_("Choose an end date between 2000 and today."))
        return value


class PublishForm(PeriodForm):
    previewed = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Why publish now"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(
        label=_("I have read these figures; publish them for anyone to see."), required=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period_end"].widget = forms.HiddenInput()
