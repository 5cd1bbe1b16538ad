from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from api.serializers.common import StrictCharField
from core.numbers import AsciiDecimalSerializerField
from meetings.models import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    TITLE_MAX,
    URL_MAX,
    Invitation,
    Session,
)

MAX_INVITEES = 500


class SessionSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    study = serializers.UUIDField(source="phase.study.public_id", read_only=True)
    phase = serializers.IntegerField(source="phase.id", read_only=True)
    pay_quantity = AsciiDecimalSerializerField(max_digits=7, decimal_places=2, read_only=True)
    # Plain strings: blank when there is no link (a "uri" format would refuse "").
    instrument_url = serializers.CharField(read_only=True)
    online_url = serializers.CharField(read_only=True)

    class Meta:
        model = Session
        fields = (
            "public_id",
            "study",
            "phase",
            "kind",
            "title",
            "description",
            "starts_at",
            "ends_at",
            "opens_on",
            "closes_on",
            "instrument_url",
            "location",
            "online_url",
            "pay_kind",
            "pay_quantity",
            "status",
            "cancel_reason",
        )
        read_only_fields = fields


class SessionCreateSerializer(serializers.Serializer):
    phase = serializers.IntegerField(min_value=1, max_value=2147483647)
    kind = serializers.ChoiceField(choices=Session.Kind.choices)
    title = StrictCharField(max_length=TITLE_MAX)
    description = StrictCharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    opens_on = serializers.DateField(required=False, allow_null=True)
    closes_on = serializers.DateField(required=False, allow_null=True)
    instrument_url = StrictCharField(max_length=URL_MAX, required=False, allow_blank=True)
    location = StrictCharField(max_length=LOCATION_MAX, required=False, allow_blank=True)
    online_url = StrictCharField(max_length=URL_MAX, required=False, allow_blank=True)
    pay_kind = serializers.ChoiceField(choices=Session.PayKind.choices)
    pay_quantity = AsciiDecimalSerializerField(
        max_digits=4,
        decimal_places=2,
        min_value=Decimal("0.25"),
        max_value=Decimal("12"),
        help_text="Hours in quarter hours (at most 12); honoraria a whole count (at most 10).",
    )


class InviteSerializer(serializers.Serializer):
    engagements = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=MAX_INVITEES
    )


class AttendanceSerializer(serializers.Serializer):
    attended = serializers.ListField(
        child=serializers.UUIDField(), min_length=0, max_length=MAX_INVITEES
    )
    absent = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=MAX_INVITEES
    )


class CancelSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=1000)


class InvitationSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    session = SessionSerializer(read_only=True)
    engagement = serializers.UUIDField(source="engagement.public_id", read_only=True)
    contribution = serializers.UUIDField(
        source="contribution.public_id", read_only=True, allow_null=True
    )

    class Meta:
        model = Invitation
        fields = ("public_id", "session", "engagement", "status", "decided_at", "contribution")
        read_only_fields = fields
