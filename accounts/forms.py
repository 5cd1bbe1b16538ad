from django import forms
from django.utils.translation import gettext_lazy as _


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, help_text=_("What the token is for."))
    days = forms.TypedChoiceField(
        label=_("Expires after"),
        coerce=int,
        choices=[(7, _("7 days")), (30, _("30 days")), (90, _("90 days")), (365, _("1 year"))],
        initial=30,
    )

    def __init__(self, *args, max_days: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if max_days is not None:
            field = self.fields["days"]
            field.choices = [(days, label) for days, label in field.choices if days <= max_days]
