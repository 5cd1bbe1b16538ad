"""Receipts, annual statements, the year's tax summary and the public receipt check.

None of these carries a legal name or a taxpayer id: identity leaves only in the
tax export's CSV, and each reveal is recorded there.
"""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import Money
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import receipt_status


class ReceiptSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    payment = serializers.UUIDField(source="payment.public_id", read_only=True)
    consultant = serializers.UUIDField(source="consultant.public_id", read_only=True)
    total = Money(read_only=True)
    pay_total = Money(read_only=True)
    reimbursement_total = Money(read_only=True)
    status = serializers.SerializerMethodField(
        help_text=(
            "valid; replaced once a later receipt replaces this one; void once the payment "
            "it records was voided or came back."
        )
    )
    replaces = serializers.SerializerMethodField(
        help_text="The receipt this one replaces (its public id), if any."
    )
    replaces_number = serializers.SerializerMethodField()
    replaced_by = serializers.SerializerMethodField(
        help_text="The receipt that replaced this one (its public id), if any."
    )
    replaced_by_number = serializers.SerializerMethodField()
    pdf_ready = serializers.BooleanField(
        source="is_rendered", read_only=True, help_text="False while the PDF is being rendered."
    )

    class Meta:
        model = Receipt
        fields = (
            "public_id",
            "number",
            "year",
            "payment",
            "consultant",
            "issued_at",
            "paid_on",
            "total",
            "pay_total",
            "reimbursement_total",
            "currency",
            "method",
            "reference",
            "status",
            "replaces",
            "replaces_number",
            "replaced_by",
            "replaced_by_number",
            "reason",
            "verification_code",
            "pdf_ready",
        )
        read_only_fields = fields

    def get_status(self, obj) -> str:
        return receipt_status(obj)

    def get_replaces(self, obj) -> str | None:
        return str(obj.replaces.public_id) if obj.replaces_id else None

    def get_replaces_number(self, obj) -> str | None:
        return obj.replaces.number if obj.replaces_id else None

    def get_replaced_by(self, obj) -> str | None:
        other = getattr(obj, "replaced_by", None)
        return str(other.public_id) if other is not None else None

    def get_replaced_by_number(self, obj) -> str | None:
        other = getattr(obj, "replaced_by", None)
        return other.number if other is not None else None


class StatementSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    consultant = serializers.UUIDField(source="consultant.public_id", read_only=True)
    pay_total = Money(read_only=True)
    reimbursement_total = Money(read_only=True)

    class Meta:
        model = AnnualStatement
        fields = (
            "public_id",
            "consultant",
            "year",
            "version",
            "generated_at",
            "pay_total",
            "reimbursement_total",
        )
        read_only_fields = fields


class StatementRequestSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=9999)
    consultant = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Whose statement. Consultants may leave it out (their own). Finance: one "
            "consultant, or leave it out for everyone paid in the year."
        ),
    )


class StatementRequestedSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    count = serializers.IntegerField(help_text="How many statements were queued now.")
    consultants = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Whose statements are queued. Anyone already waiting is not queued twice.",
    )


class TaxRowSerializer(serializers.Serializer):
    consultant = serializers.UUIDField(source="consultant.public_id")
    consultant_name = serializers.CharField(
        source="consultant.display_name", help_text="The display name (never the legal name)."
    )
    stripe = Money(help_text="Reportable pay through Stripe (may be on a 1099-K instead).")
    manual = Money(help_text="Reportable pay by check, card or cash.")
    reportable = Money()
    reimbursements = Money(help_text="Not income; excluded from the reportable total.")
    threshold_reached = serializers.BooleanField()
    w9_status = serializers.CharField()


class TaxSummarySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    threshold = Money()
    rows = TaxRowSerializer(many=True)


class VerificationSerializer(serializers.Serializer):
    number = serializers.CharField()
    issued_on = serializers.DateField()
    paid_on = serializers.DateField()
    total = Money()
    currency = serializers.CharField()
    status = serializers.CharField(
        help_text="valid; replaced (see replaced_by); or void (the payment was reversed)."
    )
    replaced_by = serializers.CharField(
        allow_null=True, help_text="The number of the receipt that replaced this one."
    )
