from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from api.serializers.common import Money, StrictCharField, StrictModelSerializer
from consultants.models import Consultant, VaultReveal
from consultants.selectors import STAFF_HIDDEN_FIELDS
from consultants.services import PREFERENCE_FIELDS
from core.numbers import AsciiDecimalSerializerField


class TotalsSerializer(serializers.Serializer):
    earned = Money(help_text="Approved work, paid or not.")
    pending = Money(help_text="Waiting for approval, estimated at the rates in force.")
    paid = Money()
    owed = Money(help_text="Approved, not paid yet.")
    hours = AsciiDecimalSerializerField(max_digits=9, decimal_places=2, coerce_to_string=True)


class PhaseTotalsSerializer(TotalsSerializer):
    phase = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    month = TotalsSerializer()
    year = TotalsSerializer()
    all_time = TotalsSerializer()
    by_phase = PhaseTotalsSerializer(many=True)


class PreferencesSerializer(StrictModelSerializer):
    """What a consultant controls about themselves."""

    benefits_cap_amount = AsciiDecimalSerializerField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), allow_null=True, required=False
    )

    class Meta:
        model = Consultant
        fields = PREFERENCE_FIELDS


class MeSerializer(PreferencesSerializer):
    public_id = serializers.UUIDField(read_only=True)
    status = serializers.CharField(read_only=True)
    totals = serializers.SerializerMethodField()

    class Meta(PreferencesSerializer.Meta):
        fields = ("public_id", "status", *PREFERENCE_FIELDS, "totals")

    def get_totals(self, obj) -> SummarySerializer:
        summary = self.context["summary"]
        return SummarySerializer(
            {
                "month": summary.month,
                "year": summary.year,
                "all_time": summary.all_time,
                "by_phase": [{"phase": name, **vars(t)} for name, t in summary.by_phase],
            }
        ).data


class ConsultantSerializer(StrictModelSerializer):
    """Staff view of a consultant: never the identity vault, contact details or own limits.

    The last four digits of the taxpayer id are for finance only (null for others).
    """

    public_id = serializers.UUIDField(read_only=True)
    w9_status = serializers.CharField(source="tax_form.status", read_only=True, default="missing")
    taxpayer_id_last4 = serializers.SerializerMethodField()
    has_account = serializers.SerializerMethodField()

    class Meta:
        model = Consultant
        fields = (
            "public_id",
            "status",
            *(f for f in PREFERENCE_FIELDS if f not in STAFF_HIDDEN_FIELDS),
            "w9_status",
            "taxpayer_id_last4",
            "has_account",
            "created_at",
        )
        read_only_fields = ("status", "created_at")

    def get_has_account(self, obj) -> bool:
        return obj.user_id is not None

    def get_taxpayer_id_last4(self, obj) -> str | None:
        request = self.context.get("request")
        if request is None or not request.user.has_perm("consultants.reveal_vault"):
            return None
        form = getattr(obj, "tax_form", None)
        return form.tin_last4 if form else ""


class ConsultantCreateSerializer(StrictModelSerializer):
    class Meta:
        model = Consultant
        fields = PREFERENCE_FIELDS


class RevealRequestSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=VaultReveal.Field.choices)
    reason = StrictCharField(max_length=2000, help_text="Why you need it; recorded.")


class RevealResponseSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField(allow_null=True)
