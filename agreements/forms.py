from django import forms
from django.utils.translation import gettext_lazy as _

from agreements.models import NOTE_MAX, WITNESS_MAX


class IssueForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=_("Named contact"),
        queryset=None,
        required=False,
        help_text=_("The person the consultant can turn to. Leave empty to keep the contact."),
    )

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts
        self.fields["contact"].label_from_instance = lambda u: u.name or u.email


class PaperForm(forms.Form):
    witnessed_by = forms.CharField(
        label=_("Witnessed by"),
        max_length=WITNESS_MAX,
        help_text=_("The name of the person who saw the consultant sign."),
    )
    accepted_on = forms.DateField(
        label=_("Date signed"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)
