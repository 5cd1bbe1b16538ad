from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agreements.models import NOTE_MAX, WITNESS_MAX, AgreementAcceptance, AgreementVersion
from agreements.selectors import acceptance_of
from api.serializers.common import StrictCharField


class AgreementAcceptanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgreementAcceptance
        fields = ("how", "accepted_at", "witnessed_by", "note")


class AgreementVersionSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    engagement = serializers.UUIDField(source="engagement.public_id", read_only=True)
    number = serializers.IntegerField(min_value=1, max_value=1000, read_only=True)
    language = serializers.CharField(
        read_only=True, help_text="The language the text was written in."
    )
    terms = serializers.SerializerMethodField()
    acceptance = serializers.SerializerMethodField()

    class Meta:
        model = AgreementVersion
        fields = (
            "public_id",
            "engagement",
            "number",
            "issued_at",
            "reason",
            "language",
            "terms",
            "text",
            "acceptance",
        )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_terms(self, version):
        """The snapshot the text was written from (role, rates, payout method, contact...)."""
        terms = dict(version.terms)
        terms.pop("rate_ids", None)
        return terms

    @extend_schema_field(AgreementAcceptanceSerializer(allow_null=True))
    def get_acceptance(self, version):
        acceptance = acceptance_of(version)
        return AgreementAcceptanceSerializer(acceptance).data if acceptance else None


class AgreementIssueSerializer(serializers.Serializer):
    engagement = serializers.UUIDField()
    contact = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="A staff user's public id."
    )


class AgreementPaperSerializer(serializers.Serializer):
    witnessed_by = StrictCharField(max_length=WITNESS_MAX)
    accepted_on = serializers.DateField()
    note = StrictCharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")
