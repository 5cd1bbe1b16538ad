from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.filters import StrictFilterSet
from api.permissions import IsStaff
from api.serializers.consents import (
    ConsentNoteSerializer,
    ConsentRequestCreateSerializer,
    ConsentRequestSerializer,
)
from api.views.base import HonoraViewSet
from consents import services
from consents.models import ConsentEvent, ConsentRequest, Standing
from consents.selectors import consent_requests_visible_to, may_coordinate
from core.errors import NotAllowed, ValidationFailed
from engagements.selectors import engagements_visible_to


class ConsentRequestFilter(StrictFilterSet):
    study = django_filters.UUIDFilter(field_name="engagement__phase__study__public_id")
    standing = django_filters.ChoiceFilter(choices=Standing.choices, method="filter_standing")

    class Meta:
        model = ConsentRequest
        fields = []

    def filter_standing(self, queryset, name, value):
        return queryset.filter(Q(standing=value))


class ConsentRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """The consent ledger: coordinators see every use (``?study=`` for one study's
    ledger) and ask or withdraw; a consultant sees their own and grants, refuses or
    revokes. Names are pseudonyms or display names, never legal names."""

    queryset = ConsentRequest.objects.none()
    serializer_class = ConsentRequestSerializer
    filterset_class = ConsentRequestFilter
    ordering_fields = ["id"]

    def get_queryset(self):
        events = ConsentEvent.objects.select_related("contribution").order_by("at", "id")
        return (
            consent_requests_visible_to(self.request.user)
            .prefetch_related(Prefetch("events", queryset=events))
            .order_by("-id")
        )

    def _answer(self, consent, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=consent.pk)
        return Response(ConsentRequestSerializer(fresh).data, status=code)

    def _coordinator_only(self):
        if not (IsStaff().has_permission(self.request, self) and may_coordinate(self.request.user)):
            raise NotAllowed("Only coordinators do this.")

    @extend_schema(
        request=ConsentRequestCreateSerializer, responses={201: ConsentRequestSerializer}
    )
    def create(self, request):
        """Ask a consultant for one use of their words, story, image or name."""
        self._coordinator_only()
        serializer = ConsentRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        engagement = (
            engagements_visible_to(request.user).filter(public_id=data.pop("engagement")).first()
        )
        if engagement is None:
            raise ValidationFailed("No engagement with this id.", field="engagement")
        consent = services.consent_request(engagement=engagement, by=request.user, **data)
        return self._answer(consent, status.HTTP_201_CREATED)

    @extend_schema(request=ConsentNoteSerializer, responses=ConsentRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, public_id=None):
        """A coordinator withdraws a request not answered yet (409 once answered)."""
        self._coordinator_only()
        consent = self.get_object()
        serializer = ConsentNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.consent_withdraw(
            request=consent, by=request.user, note=serializer.validated_data["note"]
        )
        return self._answer(consent)

    @extend_schema(request=None, responses=ConsentRequestSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request, public_id=None):
        """The consultant grants the use; its honoraria become a submitted contribution."""
        consent = self.get_object()
        services.consent_grant(request=consent, by=request.user)
        return self._answer(consent)

    @extend_schema(request=ConsentNoteSerializer, responses=ConsentRequestSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, public_id=None):
        consent = self.get_object()
        serializer = ConsentNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.consent_refuse(
            request=consent, by=request.user, note=serializer.validated_data["note"]
        )
        return self._answer(consent)

    @extend_schema(request=ConsentNoteSerializer, responses=ConsentRequestSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, public_id=None):
        """The consultant revokes a grant: future uses stop; coordinators are told.
        No reason is needed; an honorarium already granted stays."""
        consent = self.get_object()
        serializer = ConsentNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.consent_revoke(
            request=consent, by=request.user, note=serializer.validated_data["note"]
        )
        return self._answer(consent)
