"""Forms for the coordinator's session pages: shape only; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from core.forms import PhaseChoiceField
from core.numbers import AsciiDecimalField
from engagements.models import Phase
from meetings.models import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    TITLE_MAX,
    URL_MAX,
    Session,
)

DATETIME = {"type": "datetime-local"}
DATE = {"type": "date"}


class SessionForm(forms.Form):
    phase = PhaseChoiceField(
        label=gettext_lazy("Study phase"),
        queryset=Phase.objects.select_related("study").order_by("study__name", "position", "id"),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Session.Kind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=TITLE_MAX)
    description = forms.CharField(
        label=gettext_lazy("Description (optional)"),
        help_text=gettext_lazy("Consultants read this. Keep it neutral."),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts at (meetings)"),
        required=False,
        widget=forms.DateTimeInput(attrs=DATETIME, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends at (meetings)"),
        required=False,
        widget=forms.DateTimeInput(attrs=DATETIME, format="%Y-%m-%dT%H:%M"),
    )
    opens_on = forms.DateField(
        label=gettext_lazy("Opens on (Delphi rounds)"),
        required=False,
        widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
    )
    closes_on = forms.DateField(
        label=gettext_lazy("Closes on (Delphi rounds)"),
        required=False,
        widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
    )
    instrument_url = forms.CharField(
        label=gettext_lazy("Link to the questionnaire (Delphi rounds, https)"),
        max_length=URL_MAX,
        required=False,
    )
    location = forms.CharField(
        label=gettext_lazy("Where (optional)"), max_length=LOCATION_MAX, required=False
    )
    online_url = forms.CharField(
        label=gettext_lazy("Link to join online (optional, https)"),
        max_length=URL_MAX,
        required=False,
    )
    pay_kind = forms.ChoiceField(label=gettext_lazy("Paid as"), choices=Session.PayKind.choices)
    pay_quantity = AsciiDecimalField(
        label=gettext_lazy("Hours or honoraria paid"),
        help_text=gettext_lazy(
            "Hours in quarter hours (at most 12); honoraria as a whole count (at most 10)."
        ),
        max_digits=5,
        decimal_places=2,
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it cancelled?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class EngagementsChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, e):
        return f"{e.consultant.display_name} · {e.role}"


class InviteForm(forms.Form):
    engagements = EngagementsChoice(
        label=gettext_lazy("Who to invite"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagements"].queryset = candidates


class InvitationChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, i):
        return i.engagement.consultant.display_name


class AttendanceForm(forms.Form):
    attended = InvitationChoice(
        label=gettext_lazy("Who attended (or completed the round)"),
        help_text=gettext_lazy(
            "Everyone not ticked who was still invited is recorded as absent. Each person "
            "ticked gets the session's pay as an entry waiting for another coordinator's approval."
        ),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, open_invitations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attended"].queryset = open_invitations
