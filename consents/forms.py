"""Forms for the consent pages: shape only; the rules live in consents.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from consents.models import (
    HONORARIA_MAX,
    NOTE_MAX,
    PUBLICATION_MAX,
    PURPOSE_MAX,
    Attribution,
    Audience,
    Duration,
    Standing,
    Use,
)


class EngagementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, e):
        return f"{e.consultant.display_name} · {e.phase.name} · {e.role}"


class ConsentRequestForm(forms.Form):
    engagement = EngagementChoiceField(
        label=gettext_lazy("Consultant and engagement"),
        queryset=None,
        to_field_name="public_id",
        error_messages={"required": gettext_lazy("Choose the consultant's engagement.")},
    )
    use = forms.ChoiceField(label=gettext_lazy("What would be used"), choices=Use.choices)
    purpose = forms.CharField(
        label=gettext_lazy("Purpose"),
        help_text=gettext_lazy("For example: a quote in the final report."),
        max_length=PURPOSE_MAX,
    )
    audience = forms.ChoiceField(label=gettext_lazy("Audience"), choices=Audience.choices)
    duration = forms.ChoiceField(label=gettext_lazy("How long"), choices=Duration.choices)
    until = forms.DateField(
        label=gettext_lazy("Until (for “until a date”)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    publication = forms.CharField(
        label=gettext_lazy("Publication (for “the life of one publication”)"),
        required=False,
        max_length=PUBLICATION_MAX,
    )
    attribution = forms.ChoiceField(
        label=gettext_lazy("Name it would be shown under"),
        choices=Attribution.choices,
        help_text=gettext_lazy("Never the legal name."),
    )
    honoraria = forms.IntegerField(
        label=gettext_lazy("Honoraria (optional)"),
        help_text=gettext_lazy("How many honoraria at the engagement's honorarium rate."),
        min_value=0,
        max_value=HONORARIA_MAX,
        required=False,
        initial=0,
    )

    def __init__(self, *args, engagements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = engagements


class NoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StandingFilterForm(forms.Form):
    standing = forms.ChoiceField(
        label=gettext_lazy("Standing"),
        choices=[("", gettext_lazy("Any")), *Standing.choices],
        required=False,
    )
