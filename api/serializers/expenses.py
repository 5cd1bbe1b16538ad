"""Claims (reimbursements with their receipt files) and advances."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import Money
from expenses.models import (
    MAX_FILES,
    Advance,
    AdvanceReceipt,
    Category,
    Claim,
    ClaimFile,
    Settlement,
)


class ClaimFileSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="jpg, png, webp or pdf.")

    class Meta:
        model = ClaimFile
        fields = ("public_id", "kind", "size", "added_at")
        read_only_fields = fields


class ClaimSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    contribution = serializers.UUIDField(source="contribution.public_id", read_only=True)
    engagement = serializers.UUIDField(source="contribution.engagement.public_id", read_only=True)
    date = serializers.DateField(source="contribution.date", read_only=True)
    status = serializers.CharField(source="contribution.status", read_only=True)
    claimed_amount = Money(source="contribution.claimed_amount", read_only=True)
    distance = serializers.DecimalField(
        max_digits=6, decimal_places=1, coerce_to_string=True, read_only=True, allow_null=True
    )
    mileage_rate = serializers.DecimalField(
        max_digits=6, decimal_places=3, coerce_to_string=True, read_only=True, allow_null=True
    )
    files = ClaimFileSerializer(many=True, read_only=True)

    class Meta:
        model = Claim
        fields = (
            "public_id",
            "contribution",
            "engagement",
            "date",
            "category",
            "distance",
            "mileage_rate",
            "claimed_amount",
            "status",
            "files",
        )
        read_only_fields = fields


class ClaimCreateSerializer(serializers.Serializer):
    """multipart/form-data: the fields, and up to MAX_FILES ``files`` parts."""

    engagement = serializers.UUIDField()
    category = serializers.ChoiceField(choices=Category.choices)
    date = serializers.DateField()
    amount = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="The amount spent, in dollars and cents (not for mileage).",
    )
    distance = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="Mileage only: miles, one decimal place, at most 2000; paid at MILEAGE_RATE.",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    files = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=MAX_FILES,
        help_text=(
            f"Up to {MAX_FILES} photos (JPEG, PNG, WebP) or PDFs; stored without their metadata."
        ),
    )


class AdvanceReceiptSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    amount = Money(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="jpg, png, webp or pdf.")

    class Meta:
        model = AdvanceReceipt
        fields = ("public_id", "amount", "description", "kind", "size", "added_at")
        read_only_fields = fields


class SettlementSerializer(serializers.ModelSerializer):
    advance_amount = Money(read_only=True)
    spent = Money(read_only=True)
    difference = Money(read_only=True)
    difference_contribution = serializers.UUIDField(
        source="difference_contribution.public_id", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Settlement
        fields = (
            "advance_amount",
            "spent",
            "difference",
            "outcome",
            "difference_contribution",
            "note",
            "settled_at",
        )
        read_only_fields = fields


class AdvanceSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    engagement = serializers.UUIDField(source="engagement.public_id", read_only=True)
    contribution = serializers.UUIDField(source="contribution.public_id", read_only=True)
    amount = Money(read_only=True)
    standing = serializers.ChoiceField(choices=Advance.Standing.choices, read_only=True)
    receipts = AdvanceReceiptSerializer(many=True, read_only=True)
    settlement = serializers.SerializerMethodField()

    class Meta:
        model = Advance
        fields = (
            "public_id",
            "engagement",
            "contribution",
            "purpose",
            "planned_for",
            "amount",
            "standing",
            "granted_at",
            "receipts",
            "settlement",
        )
        read_only_fields = fields

    @extend_schema_field(SettlementSerializer(allow_null=True))
    def get_settlement(self, obj):
        settlement = getattr(obj, "settlement", None)
        return SettlementSerializer(settlement).data if settlement else None


class AdvanceGrantSerializer(serializers.Serializer):
    engagement = serializers.UUIDField()
    purpose = serializers.CharField(max_length=200)
    planned_for = serializers.DateField()
    amount = serializers.CharField(max_length=32, help_text="In dollars and cents.")


class AdvanceReceiptCreateSerializer(serializers.Serializer):
    """multipart/form-data: the amount and one ``file`` part."""

    amount = serializers.CharField(max_length=32)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    file = serializers.FileField()


class SettleSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
