"""Sessions and Delphi rounds (coordinators) and the consultant's own invitations."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.permissions import SignedInWithMFA
from api.serializers.engagements import ContributionSerializer
from api.serializers.meetings import (
    AttendanceSerializer,
    CancelSerializer,
    InvitationSerializer,
    InviteSerializer,
    SessionCreateSerializer,
    SessionSerializer,
)
from api.views.base import HonoraViewSet
from core.errors import ValidationFailed
from engagements.models import Engagement, Phase
from meetings import selectors, services
from meetings.models import Invitation, Session


class IsCoordinator(permissions.BasePermission):
    message = "This is for coordinators."

    def has_permission(self, request, view):
        user = request.user
        return user.is_authenticated and (
            user.is_superuser or user.has_role("coordinator", "admin")
        )


class SessionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, HonoraViewSet
):
    """Advisory meetings, instrument review sessions and Delphi rounds of a study phase."""

    queryset = Session.objects.none()
    serializer_class = SessionSerializer
    permission_classes = [SignedInWithMFA, IsCoordinator]
    ordering_fields = ["id"]

    def get_queryset(self):
        return selectors.sessions_visible_to(self.request.user).order_by("-id")

    def _answer(self, session, code=status.HTTP_200_OK):
        return Response(SessionSerializer(self.get_queryset().get(pk=session.pk)).data, status=code)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def create(self, request):
        serializer = SessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        phase = Phase.objects.filter(pk=data.pop("phase")).first()
        if phase is None:
            raise ValidationFailed("No phase with this id.", field="phase")
        data = {k: v for k, v in data.items() if v is not None}
        session = services.session_schedule(phase=phase, by=request.user, **data)
        return self._answer(session, status.HTTP_201_CREATED)

    @extend_schema(request=InviteSerializer, responses=InvitationSerializer(many=True))
    @action(detail=True, methods=["post"])
    def invite(self, request, public_id=None):
        """Invite people by their engagement in the session's phase (active ones only)."""
        session = self.get_object()
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = set(serializer.validated_data["engagements"])
        engagements = list(Engagement.objects.filter(public_id__in=wanted))
        if len(engagements) != len(wanted):
            raise ValidationFailed("No engagement with one of these ids.", field="engagements")
        invitations = services.session_invite(
            session=session, engagements=engagements, by=request.user
        )
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(request=AttendanceSerializer, responses=ContributionSerializer(many=True))
    @action(detail=True, methods=["post"])
    def attendance(self, request, public_id=None):
        """Record who attended (or completed the round), in bulk.

        Each one gets a contribution, already submitted, that another coordinator
        approves. Recording someone twice is a 409, and nothing is recorded.
        """
        session = self.get_object()
        serializer = AttendanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = {name: set(serializer.validated_data[name]) for name in ("attended", "absent")}
        rows = {
            i.public_id: i
            for i in Invitation.objects.filter(
                session=session, public_id__in=ids["attended"] | ids["absent"]
            )
        }
        if len(rows) != len(ids["attended"] | ids["absent"]):
            raise ValidationFailed(
                "An invitation named is not one of this session's.", field="attended"
            )
        created = services.attendance_record(
            session=session,
            attended=[rows[i] for i in ids["attended"]],
            absent=[rows[i] for i in ids["absent"]],
            by=request.user,
        )
        return Response(ContributionSerializer(created, many=True).data)

    @extend_schema(request=CancelSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        session = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_cancel(
            session=session, by=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(session)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """A consultant's own invitations (coordinators see all); the consultant may decline."""

    queryset = Invitation.objects.none()
    serializer_class = InvitationSerializer
    ordering_fields = ["id"]

    def get_queryset(self):
        return selectors.invitations_visible_to(self.request.user).order_by("-id")

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, public_id=None):
        """Decline without giving a reason. Only the person invited can (403 otherwise)."""
        invitation = services.invitation_decline(invitation=self.get_object(), by=request.user)
        return Response(InvitationSerializer(self.get_queryset().get(pk=invitation.pk)).data)
