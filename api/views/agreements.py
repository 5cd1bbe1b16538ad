"""Engagement agreements over the API.

A consultant lists and reads their own versions and accepts the latest; anyone
else's is a 404. Staff who read engagements see every version; coordinators issue
a new version and record a paper acceptance (the services say 403 to anyone else).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from agreements import services
from agreements.models import AgreementVersion
from agreements.selectors import versions_visible_to
from api.filters import StrictFilterSet
from api.serializers.agreements import (
    AgreementIssueSerializer,
    AgreementPaperSerializer,
    AgreementVersionSerializer,
)
from api.views.base import HonoraViewSet
from core.errors import ValidationFailed
from engagements.selectors import engagements_visible_to


class AgreementFilter(StrictFilterSet):
    engagement = django_filters.UUIDFilter(field_name="engagement__public_id")

    class Meta:
        model = AgreementVersion
        fields = []


class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Each version of an engagement's agreement, with its text and its acceptance."""

    queryset = AgreementVersion.objects.none()
    serializer_class = AgreementVersionSerializer
    filterset_class = AgreementFilter
    ordering_fields = ["id"]

    def get_queryset(self):
        return versions_visible_to(self.request.user).order_by("-id")

    def _answer(self, version, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=version.pk)
        return Response(AgreementVersionSerializer(fresh).data, status=code)

    @extend_schema(request=AgreementIssueSerializer, responses={201: AgreementVersionSerializer})
    def create(self, request):
        """Issue a new version from the engagement's terms as they are now (coordinators)."""
        serializer = AgreementIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        engagement = (
            engagements_visible_to(request.user).filter(public_id=data["engagement"]).first()
        )
        if engagement is None:
            raise ValidationFailed("No engagement with this id.", field="engagement")
        contact = None
        if data["contact"] is not None:
            contact = User.objects.filter(public_id=data["contact"], is_active=True).first()
            if contact is None:
                raise ValidationFailed("No staff user with this id.", field="contact")
        version = services.agreement_issue(engagement=engagement, by=request.user, contact=contact)
        return self._answer(version, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=AgreementVersionSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, public_id=None):
        """The consultant accepts their own latest version; an older one or twice is 409."""
        version = self.get_object()
        services.agreement_accept(version=version, by=request.user)
        return self._answer(version)

    @extend_schema(request=AgreementPaperSerializer, responses=AgreementVersionSerializer)
    @action(detail=True, methods=["post"])
    def paper(self, request, public_id=None):
        """A coordinator records the version accepted on paper, with its witness."""
        version = self.get_object()
        serializer = AgreementPaperSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agreement_record_paper(
            version=version, by=request.user, **serializer.validated_data
        )
        return self._answer(version)
