from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import get_visible_or_404
from api.filters import ContributionFilter, EngagementFilter, PhaseFilter, RateCardFilter
from api.serializers.common import HistoryEntrySerializer
from api.serializers.engagements import (
    AdjustSerializer,
    ApproveSerializer,
    ContributionCreateSerializer,
    ContributionSerializer,
    ContributionUpdateSerializer,
    DisputeSerializer,
    EngagementSerializer,
    PhaseSerializer,
    RateCardSerializer,
    RejectSerializer,
    StudySerializer,
    contribution_create_request,
)
from api.views.base import HonoraViewSet
from consultants.selectors import consultants_visible_to, history_hidden_fields
from core.errors import ValidationFailed
from core.history import history_entries
from engagements.models import Contribution, Dispute, Engagement, Phase, Rate, RateCard, Study
from engagements.selectors import contributions_visible_to, engagements_visible_to
from engagements.services.contributions import (
    contribution_adjust,
    contribution_create,
    contribution_submit,
    contribution_update,
)
from engagements.services.disputes import dispute_open
from engagements.services.reviews import contribution_approve, contribution_reject


def _studies_for(user):
    if user.is_staff_member:
        return Study.objects.all()
    return Study.objects.filter(phases__engagements__consultant__user=user).distinct()


class StudyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    queryset = Study.objects.none()
    serializer_class = StudySerializer
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        return _studies_for(self.request.user).order_by("-id")


class PhaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    queryset = Phase.objects.none()
    serializer_class = PhaseSerializer
    lookup_field = "pk"
    lookup_value_regex = "[0-9]+"
    filterset_class = PhaseFilter
    ordering_fields = ["position", "id"]

    def get_queryset(self):
        return (
            Phase.objects.filter(study__in=_studies_for(self.request.user))
            .select_related("study")
            .order_by("-id")
        )


class RateCardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    queryset = RateCard.objects.none()
    serializer_class = RateCardSerializer
    filterset_class = RateCardFilter
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        user = self.request.user
        cards = RateCard.objects.select_related("study").prefetch_related(
            Prefetch("rates", queryset=Rate.objects.order_by("activity", "kind", "effective_from"))
        )
        if not user.is_staff_member:
            # Consultants see the cards that price their own work.
            cards = cards.filter(engagements__consultant__user=user).distinct()
        return cards.order_by("-id")


class EngagementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    queryset = Engagement.objects.none()
    serializer_class = EngagementSerializer
    filterset_class = EngagementFilter
    ordering_fields = ["id", "role"]

    def get_queryset(self):
        return engagements_visible_to(self.request.user).order_by("-id")


# What ContributionSerializer reads, and the keys that join it.
CONTRIBUTION_COLUMNS = (
    *(
        f
        for f in ContributionSerializer.Meta.fields
        if f not in ("engagement", "consultant", "consultant_name", "phase_name", "logged_by")
        and f not in ("approved_by", "adjusts", "has_open_dispute", "has_attachment")
    ),
    "attachment",
    "engagement__public_id",
    "engagement__consultant__public_id",
    "engagement__consultant__display_name",
    "engagement__phase__name",
    "logged_by__name",
    "logged_by__email",
    "approved_by__name",
    "approved_by__email",
    "adjusts__public_id",
)


class ContributionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Hours, honoraria and reimbursements, and every action on them."""

    queryset = Contribution.objects.none()
    serializer_class = ContributionSerializer
    filterset_class = ContributionFilter
    # Only columns that are never empty: a cursor cannot page over NULLs.
    ordering_fields = ["date", "id"]

    def get_queryset(self):
        open_dispute = Dispute.objects.filter(
            contribution=OuterRef("pk"), status=Dispute.Status.OPEN
        )
        qs = (
            contributions_visible_to(self.request.user)
            .select_related("adjusts", "engagement__phase")
            .annotate(has_open_dispute=Exists(open_dispute))
            .order_by("-id")
        )
        if self.action in ("list", "retrieve"):
            # Reading only: the columns the serializer shows, nothing decrypted.
            qs = qs.only(*CONTRIBUTION_COLUMNS)
        return qs

    def _answer(self, contribution, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=contribution.pk)
        return Response(ContributionSerializer(fresh).data, status=code)

    @extend_schema(request=contribution_create_request(), responses={201: ContributionSerializer})
    def create(self, request):
        serializer = ContributionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        engagement = (
            engagements_visible_to(request.user).filter(public_id=data.pop("engagement")).first()
        )
        if engagement is None:
            raise ValidationFailed(
                "No engagement with this id that you can log work on.", field="engagement"
            )
        contribution = contribution_create(engagement=engagement, by=request.user, **data)
        return self._answer(contribution, status.HTTP_201_CREATED)

    @extend_schema(request=ContributionUpdateSerializer, responses=ContributionSerializer)
    def partial_update(self, request, public_id=None):
        contribution = self.get_object()
        serializer = ContributionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        reason = changes.pop("reason", "")
        contribution = contribution_update(
            contribution=contribution, by=request.user, reason=reason, **changes
        )
        return self._answer(contribution)

    @extend_schema(request=None, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, public_id=None):
        contribution = contribution_submit(contribution=self.get_object(), by=request.user)
        return self._answer(contribution)

    @extend_schema(request=ApproveSerializer, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, public_id=None):
        """Freeze the amount at the rate in force on the day. Never by whoever logged it.

        Work that takes the engagement past its budget or hours cap needs an
        ``override_reason``; without one the answer is 400 naming that field.
        """
        contribution = self.get_object()
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contribution = contribution_approve(
            contribution=contribution,
            by=request.user,
            override_reason=serializer.validated_data["override_reason"],
        )
        return self._answer(contribution)

    @extend_schema(request=RejectSerializer, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, public_id=None):
        contribution = self.get_object()
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contribution = contribution_reject(
            contribution=contribution, by=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(contribution)

    @extend_schema(request=DisputeSerializer, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def dispute(self, request, public_id=None):
        contribution = self.get_object()
        serializer = DisputeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dispute_open(
            contribution=contribution, by=request.user, comment=serializer.validated_data["comment"]
        )
        return self._answer(contribution)

    @extend_schema(request=AdjustSerializer, responses={201: ContributionSerializer})
    @action(detail=True, methods=["post"])
    def adjust(self, request, public_id=None):
        """Correct an approved entry with a new row; answers the adjustment."""
        contribution = self.get_object()
        serializer = AdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        adjustment = contribution_adjust(
            contribution=contribution, by=request.user, **serializer.validated_data
        )
        return self._answer(adjustment, status.HTTP_201_CREATED)


class HistoryQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["contribution", "engagement", "consultant"])
    id = serializers.UUIDField()


class HistorySerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.UUIDField()
    entries = HistoryEntrySerializer(many=True)


HISTORY_SOURCES = {
    "contribution": contributions_visible_to,
    "engagement": engagements_visible_to,
    "consultant": consultants_visible_to,
}


class HistoryView(APIView):
    """The change history of one record the caller may see: who, when, what, why."""

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, enum=sorted(HISTORY_SOURCES), required=True),
            OpenApiParameter(
                "id", OpenApiTypes.UUID, description="The record's public id.", required=True
            ),
        ],
        responses=HistorySerializer,
    )
    def get(self, request):
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        kind, public_id = query.validated_data["type"], query.validated_data["id"]
        record = get_visible_or_404(HISTORY_SOURCES[kind](request.user), public_id=public_id)
        entries = history_entries(
            record, viewer=request.user, hidden_fields=history_hidden_fields(request.user, record)
        )
        payload = {
            "type": kind,
            "id": public_id,
            "entries": [
                {
                    "when": e.when,
                    "who": e.who,
                    "role": e.role,
                    "action": e.action,
                    "reason": e.reason,
                    "changes": [vars(c) for c in e.changes],
                    "sentence": e.sentence,
                }
                for e in entries
            ],
        }
        return Response(HistorySerializer(payload).data)
