from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from api.schema import amount_pattern, quarter_hours_pattern, whole_count_pattern
from api.serializers.common import Flat, Money, StrictBooleanField, StrictCharField
from core import limits
from core.numbers import AsciiDecimalSerializerField
from engagements.models import Activity, Contribution, Engagement, Phase, Rate, RateCard, Study


class StudySerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    budget = Money(allow_null=True)
    hourly_rate_floor = Money()

    class Meta:
        model = Study
        fields = ("public_id", "name", "description", "currency", "budget", "hourly_rate_floor")


class PhaseSerializer(serializers.ModelSerializer):
    study = serializers.UUIDField(source="study.public_id", read_only=True)
    # Explicit bounds: the model field's range differs by database and so would the schema.
    position = serializers.IntegerField(min_value=0, max_value=2147483647, read_only=True)

    class Meta:
        model = Phase
        fields = ("id", "study", "name", "position", "description")


class RateSerializer(serializers.ModelSerializer):
    amount = Money()
    floor = Money()

    class Meta:
        model = Rate
        fields = ("activity", "kind", "amount", "floor", "effective_from")


class RateCardSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    study = serializers.UUIDField(source="study.public_id", read_only=True)
    rates = RateSerializer(many=True, read_only=True)

    class Meta:
        model = RateCard
        fields = ("public_id", "study", "name", "description", "rates")


class EngagementSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    consultant = serializers.UUIDField(source="consultant.public_id", read_only=True)
    consultant_name = serializers.CharField(source="consultant.display_name", read_only=True)
    study = serializers.UUIDField(source="phase.study.public_id", read_only=True)
    phase = serializers.IntegerField(source="phase.id", read_only=True)
    phase_name = serializers.CharField(source="phase.name", read_only=True)
    rate_card = serializers.UUIDField(source="rate_card.public_id", read_only=True)
    hours_cap = AsciiDecimalSerializerField(
        max_digits=7, decimal_places=2, allow_null=True, read_only=True
    )
    budget = Money(allow_null=True, read_only=True)

    class Meta:
        model = Engagement
        fields = (
            "public_id",
            "consultant",
            "consultant_name",
            "study",
            "phase",
            "phase_name",
            "role",
            "rate_card",
            "hours_cap",
            "budget",
            "status",
        )


class ContributionSerializer(Flat, serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    engagement = serializers.UUIDField(source="engagement.public_id", read_only=True)
    consultant = serializers.UUIDField(source="engagement.consultant.public_id", read_only=True)
    consultant_name = serializers.CharField(
        source="engagement.consultant.display_name", read_only=True
    )
    phase_name = serializers.CharField(source="engagement.phase.name", read_only=True)
    quantity = AsciiDecimalSerializerField(max_digits=7, decimal_places=2)
    claimed_amount = Money(allow_null=True)
    rate = Money(allow_null=True, read_only=True)
    amount = Money(allow_null=True, read_only=True)
    logged_by = serializers.CharField(source="logged_by.get_short_name", read_only=True)
    approved_by = serializers.CharField(
        source="approved_by.get_short_name", read_only=True, allow_null=True, default=None
    )
    adjusts = serializers.UUIDField(
        source="adjusts.public_id", read_only=True, allow_null=True, default=None
    )
    has_open_dispute = serializers.BooleanField(read_only=True, default=False)
    has_attachment = serializers.SerializerMethodField()

    class Meta:
        model = Contribution
        fields = (
            "public_id",
            "engagement",
            "consultant",
            "consultant_name",
            "phase_name",
            "kind",
            "activity",
            "date",
            "quantity",
            "claimed_amount",
            "description",
            "status",
            "rate",
            "amount",
            "logged_by",
            "approved_by",
            "submitted_at",
            "approved_at",
            "promised_pay_date",
            "rejected_reason",
            "adjusts",
            "reason",
            "has_open_dispute",
            "has_attachment",
        )
        read_only_fields = fields

    def get_has_attachment(self, obj) -> bool:
        return bool(obj.attachment)


class ContributionCreateSerializer(serializers.Serializer):
    engagement = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Contribution.Kind.choices)
    activity = serializers.ChoiceField(choices=Activity.choices)
    date = serializers.DateField()
    quantity = AsciiDecimalSerializerField(
        max_digits=7, decimal_places=2, required=False, allow_null=True
    )
    claimed_amount = AsciiDecimalSerializerField(
        max_digits=12, decimal_places=2, required=False, allow_null=True
    )
    description = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")
    submit = StrictBooleanField(required=False, default=False)


class ContributionUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Contribution.Kind.choices, required=False)
    activity = serializers.ChoiceField(choices=Activity.choices, required=False)
    date = serializers.DateField(required=False)
    quantity = AsciiDecimalSerializerField(max_digits=7, decimal_places=2, required=False)
    claimed_amount = AsciiDecimalSerializerField(
        max_digits=12, decimal_places=2, required=False, allow_null=True
    )
    description = StrictCharField(max_length=4000, required=False, allow_blank=True)
    reason = StrictCharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Required when the entry was already submitted.",
    )


class ApproveSerializer(serializers.Serializer):
    override_reason = StrictCharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "Only to approve work that takes the engagement past its budget or hours cap; "
            "kept in the history."
        ),
    )


class RejectSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)


class DisputeSerializer(serializers.Serializer):
    comment = StrictCharField(max_length=4000)


class AdjustSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)
    quantity_delta = AsciiDecimalSerializerField(
        max_digits=7,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="For hours and honoraria: the change, e.g. 0.5 or -1.",
    )
    amount_delta = AsciiDecimalSerializerField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="For reimbursements: the change in dollars and cents.",
    )


# --- what contribution_create accepts, kind by kind (the schema; the view reads the above) --


def _matching(pattern: str, help_text: str, **kwargs) -> serializers.CharField:
    """A decimal sent as text that must match ``pattern`` (a schema-only field)."""
    field_class = extend_schema_field({"type": "string", "format": "decimal", "pattern": pattern})(
        type("DecimalText", (serializers.CharField,), {})
    )
    return field_class(help_text=help_text, **kwargs)


def _kind(kind: str) -> serializers.Field:
    field_class = extend_schema_field({"type": "string", "enum": [kind]})(
        type("Kind", (serializers.CharField,), {})
    )
    return field_class()


class _ContributionCreateBase(serializers.Serializer):
    engagement = serializers.UUIDField(help_text="An engagement you may log work on.")
    activity = serializers.ChoiceField(choices=Activity.choices)
    date = serializers.DateField(
        help_text=(
            "The day of the work: not in the future, and not before the earliest work date "
            "(LIMIT_EARLIEST_WORK_DATE)."
        )
    )
    description = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")
    submit = StrictBooleanField(required=False, default=False)


def contribution_create_request():
    """The request body of ``contributions_create``: one shape per kind, with its rules."""
    hours_most = int(limits.hours_per_entry())
    honoraria_most = int(limits.honoraria_per_entry())
    amount_most = int(limits.amount_per_entry())

    class HoursContributionCreate(_ContributionCreateBase):
        kind = _kind("hours")
        quantity = _matching(
            quarter_hours_pattern(hours_most),
            f"Hours in quarter hours, more than 0 and at most {hours_most} "
            "(and a day holds at most LIMIT_HOURS_PER_DAY hours across all engagements).",
        )

    class HonorariumContributionCreate(_ContributionCreateBase):
        kind = _kind("honorarium")
        quantity = _matching(
            whole_count_pattern(honoraria_most), f"A whole count from 1 to {honoraria_most}."
        )

    class ReimbursementContributionCreate(_ContributionCreateBase):
        kind = _kind("reimbursement")
        claimed_amount = _matching(
            amount_pattern(amount_most),
            f"The amount spent, in dollars and cents, more than 0 and at most {amount_most}.",
        )

    return PolymorphicProxySerializer(
        component_name="ContributionCreate",
        serializers={
            "hours": HoursContributionCreate,
            "honorarium": HonorariumContributionCreate,
            "reimbursement": ReimbursementContributionCreate,
        },
        resource_type_field_name="kind",
    )
