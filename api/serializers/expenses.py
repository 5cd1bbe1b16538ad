"""Claims (reimbursements with their receipt files) and advances."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.schema import amount_pattern, whole_upto
from api.serializers.common import Money, StrictCharField
from api.serializers.engagements import _matching
from core import limits
from expenses.models import (
    MAX_DISTANCE,
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


AMOUNT_MOST = int(limits.amount_per_entry())
AMOUNT_HELP = f"Dollars and cents, more than 0 and at most {AMOUNT_MOST}."
DISTANCE_PATTERN = (
    f"^(?:{whole_upto(MAX_DISTANCE - 1, nonzero=True)}(?:\\.\\d)?"
    f"|0\\.[1-9]|{MAX_DISTANCE}(?:\\.0)?)$"
)


class ClaimCreateSerializer(serializers.Serializer):
    """multipart/form-data: the fields, and up to MAX_FILES ``files`` parts."""

    engagement = serializers.UUIDField()
    category = serializers.ChoiceField(choices=Category.choices)
    date = serializers.DateField(
        help_text="The day of the cost: not in the future, not before LIMIT_EARLIEST_WORK_DATE."
    )
    amount = _matching(
        amount_pattern(AMOUNT_MOST),
        f"The amount spent (every category but mileage, which needs it). {AMOUNT_HELP}",
        required=False,
    )
    distance = _matching(
        DISTANCE_PATTERN,
        f"Mileage only (and needed for it): miles, one decimal place, more than 0 and at "
        f"most {MAX_DISTANCE}; paid at MILEAGE_RATE per mile.",
        required=False,
    )
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
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
    purpose = StrictCharField(max_length=200)
    planned_for = serializers.DateField(
        help_text="The day of the planned costs: at most a year ahead, not before "
        "LIMIT_EARLIEST_WORK_DATE."
    )
    amount = _matching(amount_pattern(AMOUNT_MOST), AMOUNT_HELP)


class AdvanceReceiptCreateSerializer(serializers.Serializer):
    """multipart/form-data: the amount and one ``file`` part."""

    amount = _matching(amount_pattern(AMOUNT_MOST), AMOUNT_HELP)
    description = StrictCharField(required=False, allow_blank=True, max_length=200)
    file = serializers.FileField(
        help_text="A photo (JPEG, PNG, WebP) or a PDF; stored without its metadata."
    )


class SettleSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)
