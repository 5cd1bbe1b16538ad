"""Pay plans and the monthly income figures in the API (a consultant's own; staff read)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from api.serializers.common import Money
from income.models import MAX_DEFER_MONTHS_AHEAD, MAX_SPLIT_MONTHS, MIN_SPLIT_MONTHS, PayPlan


class PayPlanSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    consultant = serializers.UUIDField(source="consultant.public_id", read_only=True)
    month_limit = Money(read_only=True, allow_null=True)
    cancelled = serializers.BooleanField(read_only=True)
    entries = serializers.SerializerMethodField()

    class Meta:
        model = PayPlan
        fields = (
            "public_id",
            "consultant",
            "kind",
            "start_month",
            "months",
            "month_limit",
            "entries",
            "cancelled",
            "created_at",
        )
        read_only_fields = fields

    def get_entries(self, plan) -> list[str]:
        return [str(e.contribution.public_id) for e in plan.entries.all()]


class PayPlanCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PayPlan.Kind.choices)
    entries = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_null=True,
        min_length=1,
        max_length=500,
        help_text="Approved entries to cover; leave out for all approved unpaid work.",
    )
    start_month = serializers.DateField(
        help_text=f"Any day of the month (defer: next month up to {MAX_DEFER_MONTHS_AHEAD} ahead)."
    )
    months = serializers.IntegerField(
        required=False, min_value=MIN_SPLIT_MONTHS, max_value=MAX_SPLIT_MONTHS
    )
    month_limit = Money(required=False, min_value=Decimal("0.01"))


class IncomeMonthSerializer(serializers.Serializer):
    month = serializers.DateField(source="period")
    paid = Money()
    scheduled = Money()
    reimbursements = Money()
    room = Money(allow_null=True)


class IncomeSerializer(serializers.Serializer):
    months = IncomeMonthSerializer(many=True)
    years = IncomeMonthSerializer(many=True)
