from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from consultants.models import Consultant, PayoutMethod
from engagements.models import Activity, Contribution, Engagement, Phase, RateCard
from payments.models import Payment, PayoutBatch, Rail

ID_MAX = 2**31 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": ID_MAX})
class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number in range, so nothing odd reaches SQL."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs["min_value"] = 1
        kwargs["max_value"] = ID_MAX
        super().__init__(*args, **kwargs)


YEAR_MIN, YEAR_MAX = 2000, 9999


@extend_schema_field({"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX})
class YearFilter(django_filters.NumberFilter):
    """A calendar year, as a whole number."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs["min_value"] = YEAR_MIN
        kwargs["max_value"] = YEAR_MAX
        super().__init__(*args, **kwargs)


class StrictFilterSet(django_filters.FilterSet):
    """A filter given with no value is an error, not silently ignored."""

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self._given = data

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_honora_strict", False):
            original_clean = form.clean
            given = self._given

            def clean():
                cleaned = original_clean()
                for name in self.filters:
                    values = (
                        given.getlist(name)
                        if given is not None and hasattr(given, "getlist")
                        else []
                    )
                    if any(v.strip() == "" for v in values):
                        raise forms.ValidationError(
                            {name: "Give a value, or leave this filter out."}
                        )
                return cleaned

            form.clean = clean
            form._honora_strict = True
        return form


class ContributionFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Contribution.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Contribution.Kind.choices)
    activity = django_filters.ChoiceFilter(choices=Activity.choices)
    engagement = django_filters.UUIDFilter(field_name="engagement__public_id")
    consultant = django_filters.UUIDFilter(field_name="engagement__consultant__public_id")
    study = django_filters.UUIDFilter(field_name="engagement__phase__study__public_id")
    phase = IdFilter(field_name="engagement__phase_id")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    disputed = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_disputed"
    )

    class Meta:
        model = Contribution
        fields = []

    def filter_disputed(self, queryset, name, value):
        return queryset.filter(has_open_dispute=value == "true")


class ConsultantFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Consultant.Status.choices)
    payout_method = django_filters.ChoiceFilter(
        choices=Consultant._meta.get_field("payout_method").choices
    )

    class Meta:
        model = Consultant
        fields = []


class EngagementFilter(StrictFilterSet):
    consultant = django_filters.UUIDFilter(field_name="consultant__public_id")
    study = django_filters.UUIDFilter(field_name="phase__study__public_id")
    phase = IdFilter(field_name="phase_id")
    status = django_filters.ChoiceFilter(choices=Engagement.Status.choices)

    class Meta:
        model = Engagement
        fields = []


class PhaseFilter(StrictFilterSet):
    study = django_filters.UUIDFilter(field_name="study__public_id")

    class Meta:
        model = Phase
        fields = []


class RateCardFilter(StrictFilterSet):
    study = django_filters.UUIDFilter(field_name="study__public_id")

    class Meta:
        model = RateCard
        fields = []


class PayoutBatchFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PayoutBatch.Status.choices)
    payout_method = django_filters.ChoiceFilter(field_name="method", choices=PayoutMethod.choices)
    study = django_filters.UUIDFilter(field_name="study__public_id")
    cutoff_from = django_filters.DateFilter(field_name="cutoff_date", lookup_expr="gte")
    cutoff_to = django_filters.DateFilter(field_name="cutoff_date", lookup_expr="lte")

    class Meta:
        model = PayoutBatch
        fields = []


class PaymentFilter(StrictFilterSet):
    batch = django_filters.UUIDFilter(field_name="batch__public_id")
    consultant = django_filters.UUIDFilter(field_name="consultant__public_id")
    status = django_filters.MultipleChoiceFilter(choices=Payment.Status.choices)
    payout_method = django_filters.ChoiceFilter(field_name="method", choices=PayoutMethod.choices)
    rail = django_filters.ChoiceFilter(choices=Rail.choices)
    hold_reason = django_filters.ChoiceFilter(choices=Payment.Hold.choices)

    class Meta:
        model = Payment
        fields = []
