"""The public transparency reports: anyone may read them, at a bounded rate."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from api.schema import ErrorSerializer
from transparency import selectors


class TransparencyThrottle(SimpleRateThrottle):
    """Per address: the reports are public, but not a way to load the server."""

    scope = "transparency"
    default_rate = "60/min"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope, self.default_rate)

    def get_cache_key(self, request, view):
        return f"throttle_{self.scope}_{self.get_ident(request)}"


class PublicationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    study = serializers.CharField(source="study.name")
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField()
    published_at = serializers.DateTimeField()
    sha256 = serializers.CharField()
    method_version = serializers.IntegerField()


class _Public(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TransparencyThrottle]


class TransparencyListView(_Public):
    """Public: every published transparency report, newest first (no figures)."""

    @extend_schema(auth=[], responses={200: PublicationSerializer(many=True), 429: ErrorSerializer})
    def get(self, request):
        rows = selectors.publications_public()[:500]
        return Response(PublicationSerializer(rows, many=True).data)


class TransparencyDetailView(_Public):
    """Public: one report's figures, exactly the bytes its SHA-256 was computed over."""

    @extend_schema(
        auth=[], responses={200: OpenApiTypes.OBJECT, 404: ErrorSerializer, 429: ErrorSerializer}
    )
    def get(self, request, public_id):
        publication = selectors.publications_public().filter(public_id=public_id).first()
        if publication is None:
            raise NotFound("No published report has this id.")
        response = HttpResponse(
            publication.document.encode(), content_type="application/json; charset=utf-8"
        )
        response["Cache-Control"] = "public, max-age=86400, immutable"
        return response
