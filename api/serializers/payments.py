from __future__ import annotations

from django.utils.functional import cached_property
from rest_framework import serializers

from api.serializers.common import Flat, Money, StrictCharField
from consultants.models import PayoutMethod
from core.numbers import AsciiDecimalSerializerField
from payments import selectors
from payments.models import Payment, PaymentAttempt, PaymentItem, PayoutBatch

# Finance's working notes about a payment: a consultant reads the neutral
# ``status_note`` instead, and these come back empty.
FINANCE_ONLY_FIELDS = (
    "hold_detail",
    "transfer_id",
    "failure_code",
    "failure_message",
    "closed_reason",
)


class PaymentItemSerializer(Flat, serializers.ModelSerializer):
    contribution = serializers.UUIDField(source="contribution.public_id", read_only=True)
    kind = serializers.CharField(source="contribution.kind", read_only=True)
    activity = serializers.CharField(source="contribution.activity", read_only=True)
    date = serializers.DateField(source="contribution.date", read_only=True)
    phase_name = serializers.CharField(source="contribution.engagement.phase.name", read_only=True)
    quantity = AsciiDecimalSerializerField(
        source="contribution.quantity", max_digits=7, decimal_places=2, read_only=True
    )
    rate = Money(source="contribution.rate", allow_null=True, read_only=True)
    amount = Money(read_only=True)
    live = serializers.BooleanField(
        read_only=True, help_text="False once released for a later payment."
    )

    class Meta:
        model = PaymentItem
        fields = (
            "contribution",
            "kind",
            "activity",
            "date",
            "phase_name",
            "quantity",
            "rate",
            "amount",
            "live",
        )
        read_only_fields = fields


class PaymentAttemptSerializer(Flat, serializers.ModelSerializer):
    class Meta:
        model = PaymentAttempt
        fields = (
            "number",
            "status",
            "provider_reference",
            "error_code",
            "error_message",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


class PaymentSerializer(Flat, serializers.ModelSerializer):
    """One payment with its items. Consultants get finance's notes blanked out."""

    public_id = serializers.UUIDField(read_only=True)
    batch = serializers.UUIDField(source="batch.public_id", read_only=True)
    consultant = serializers.UUIDField(source="consultant.public_id", read_only=True)
    consultant_name = serializers.CharField(source="consultant.display_name", read_only=True)
    payout_method = serializers.ChoiceField(
        source="method", choices=PayoutMethod.choices, read_only=True
    )
    amount = Money(read_only=True)
    hold_reason = serializers.ChoiceField(
        choices=Payment.Hold.choices,
        allow_blank=True,
        read_only=True,
        help_text="Why a held payment waits; blank when it is not held.",
    )
    status_note = serializers.SerializerMethodField(
        help_text="The status in the neutral words the consultant reads."
    )
    has_proof = serializers.SerializerMethodField()
    items = PaymentItemSerializer(many=True, read_only=True)
    attempts = serializers.SerializerMethodField(
        help_text="Tries at the provider (finance only; empty for consultants)."
    )

    class Meta:
        model = Payment
        fields = (
            "public_id",
            "batch",
            "consultant",
            "consultant_name",
            "payout_method",
            "rail",
            "amount",
            "currency",
            "status",
            "status_note",
            "hold_reason",
            "hold_detail",
            "gift_card_store",
            "reference",
            "handed_over_on",
            "has_proof",
            "transfer_id",
            "paid_at",
            "failure_code",
            "failure_message",
            "closed_reason",
            "created_at",
            "items",
            "attempts",
        )
        read_only_fields = fields

    def _finance(self) -> bool:
        return bool(self.context.get("finance"))

    @cached_property
    def _notes(self) -> dict[tuple[str, str], str]:
        return {}

    def get_status_note(self, obj) -> str:
        # Phrased once per status and hold reason in a response, not once per row.
        key = (obj.status, obj.hold_reason)
        if key not in self._notes:
            self._notes[key] = str(selectors.consultant_status(obj).words)
        return self._notes[key]

    def get_has_proof(self, obj) -> bool:
        return bool(obj.proof)

    def get_attempts(self, obj) -> PaymentAttemptSerializer(many=True):
        if not self._finance():
            return []
        return PaymentAttemptSerializer(obj.attempts.all(), many=True).data

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self._finance():
            for name in FINANCE_ONLY_FIELDS:
                data[name] = ""
        return data


class MethodTotalSerializer(serializers.Serializer):
    payout_method = serializers.CharField(source="method")
    count = serializers.IntegerField()
    amount = Money()
    held_count = serializers.IntegerField()
    held_amount = Money()


class StatusCountSerializer(serializers.Serializer):
    status = serializers.CharField()
    count = serializers.IntegerField()


class FlagSerializer(serializers.Serializer):
    payment = serializers.UUIDField(source="public_id")
    consultant_name = serializers.CharField(source="consultant.display_name")
    amount = Money()
    hold_reason = serializers.CharField()
    hold_detail = serializers.CharField(allow_blank=True)


class PayoutBatchSerializer(serializers.ModelSerializer):
    """A batch with its payments summed up: by method, by status, and every flag.

    Needs ``summaries`` (``payments.selectors.batch_summaries``) in its context.
    """

    public_id = serializers.UUIDField(read_only=True)
    study = serializers.UUIDField(
        source="study.public_id", read_only=True, allow_null=True, default=None
    )
    phase = serializers.IntegerField(source="phase_id", read_only=True, allow_null=True)
    payout_method = serializers.ChoiceField(
        source="method",
        choices=PayoutMethod.choices,
        allow_blank=True,
        read_only=True,
        help_text="Only consultants paid by this method; blank for every method.",
    )
    created_by = serializers.CharField(source="created_by.get_short_name", read_only=True)
    approved_by = serializers.CharField(
        source="approved_by.get_short_name", read_only=True, allow_null=True, default=None
    )
    payment_count = serializers.IntegerField(read_only=True)
    held_count = serializers.IntegerField(read_only=True)
    total = Money(read_only=True, allow_null=True)
    totals_by_method = serializers.SerializerMethodField()
    counts_by_status = serializers.SerializerMethodField(
        help_text="How many of its payments are in each status."
    )
    flags = serializers.SerializerMethodField(
        help_text="Every held payment, with the pre-flight reason."
    )

    class Meta:
        model = PayoutBatch
        fields = (
            "public_id",
            "status",
            "currency",
            "cutoff_date",
            "study",
            "phase",
            "payout_method",
            "note",
            "created_by",
            "created_at",
            "submitted_at",
            "approved_by",
            "approved_at",
            "executed_at",
            "completed_at",
            "cancelled_at",
            "cancel_reason",
            "payment_count",
            "held_count",
            "total",
            "totals_by_method",
            "counts_by_status",
            "flags",
        )
        read_only_fields = fields

    def _summary(self, obj):
        return self.context["summaries"][obj.pk]

    def get_totals_by_method(self, obj) -> MethodTotalSerializer(many=True):
        return MethodTotalSerializer(self._summary(obj).by_method, many=True).data

    def get_counts_by_status(self, obj) -> StatusCountSerializer(many=True):
        return StatusCountSerializer(self._summary(obj).by_status, many=True).data

    def get_flags(self, obj) -> FlagSerializer(many=True):
        return FlagSerializer(self._summary(obj).flags, many=True).data


class BatchBuildSerializer(serializers.Serializer):
    cutoff_date = serializers.DateField(help_text="Approved work dated up to this day is paid.")
    study = serializers.UUIDField(required=False, allow_null=True, default=None)
    phase = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**31 - 1
    )
    payout_method = serializers.ChoiceField(
        choices=PayoutMethod.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only consultants paid by this method; blank for every method.",
    )
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class RecordManualSerializer(serializers.Serializer):
    reference = StrictCharField(
        max_length=120,
        help_text="Check number, card last four, or gift card code reference.",
    )
    handed_over_on = serializers.DateField()
