"""The consent ledger in the API: never a legal name, only the name staff know."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import StrictCharField
from consents.models import (
    HONORARIA_MAX,
    NOTE_MAX,
    PUBLICATION_MAX,
    PURPOSE_MAX,
    Attribution,
    Audience,
    ConsentEvent,
    ConsentRequest,
    Duration,
    Standing,
    Use,
)


class ConsentEventSerializer(serializers.ModelSerializer):
    contribution = serializers.UUIDField(
        source="contribution.public_id", read_only=True, allow_null=True
    )

    class Meta:
        model = ConsentEvent
        fields = ("kind", "at", "note", "contribution")
        read_only_fields = fields


class ConsentRequestSerializer(serializers.ModelSerializer):
    public_id = serializers.UUIDField(read_only=True)
    engagement = serializers.UUIDField(source="engagement.public_id", read_only=True)
    study = serializers.UUIDField(source="engagement.phase.study.public_id", read_only=True)
    consultant = serializers.UUIDField(source="engagement.consultant.public_id", read_only=True)
    consultant_name = serializers.SerializerMethodField(
        help_text="The pseudonym, else the display name; never the legal name."
    )
    standing = serializers.ChoiceField(choices=Standing.choices, read_only=True)
    honoraria = serializers.IntegerField(min_value=0, max_value=HONORARIA_MAX, read_only=True)
    events = ConsentEventSerializer(many=True, read_only=True)

    class Meta:
        model = ConsentRequest
        fields = (
            "public_id",
            "engagement",
            "study",
            "consultant",
            "consultant_name",
            "use",
            "purpose",
            "audience",
            "duration",
            "until",
            "publication",
            "attribution",
            "honoraria",
            "requested_at",
            "standing",
            "events",
        )
        read_only_fields = fields

    def get_consultant_name(self, obj: ConsentRequest) -> str:
        consultant = obj.engagement.consultant
        return consultant.pseudonym or consultant.display_name


class ConsentRequestCreateSerializer(serializers.Serializer):
    engagement = serializers.UUIDField()
    use = serializers.ChoiceField(choices=Use.choices)
    purpose = StrictCharField(max_length=PURPOSE_MAX)
    audience = serializers.ChoiceField(choices=Audience.choices)
    duration = serializers.ChoiceField(choices=Duration.choices)
    until = serializers.DateField(required=False, allow_null=True, default=None)
    publication = StrictCharField(
        max_length=PUBLICATION_MAX, required=False, allow_blank=True, default=""
    )
    attribution = serializers.ChoiceField(choices=Attribution.choices)
    honoraria = serializers.IntegerField(
        min_value=0, max_value=HONORARIA_MAX, required=False, default=0
    )


class ConsentNoteSerializer(serializers.Serializer):
    note = StrictCharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")
