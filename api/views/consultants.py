from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.filters import ConsultantFilter
from api.idempotency import IdempotentMixin
from api.permissions import HasModelPermission, IsStaff, SignedInWithMFA
from api.serializers.consultants import (
    TAX_FORM_RECEIVE_REQUEST,
    ConsultantCreateSerializer,
    ConsultantSerializer,
    MeSerializer,
    PreferencesSerializer,
    RevealRequestSerializer,
    RevealResponseSerializer,
    TaxFormReceiveSerializer,
    TaxFormResultSerializer,
)
from api.views.base import HonoraViewSet
from consultants import services
from consultants.models import Consultant
from consultants.selectors import ENCRYPTED_CONTACT_FIELDS
from engagements.selectors import consultant_summary


class MeView(IdempotentMixin, generics.GenericAPIView):
    """The signed-in consultant's own record, preferences and totals."""

    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        consultant = getattr(self.request.user, "consultant", None)
        if consultant is None:
            raise NotFound("You have no consultant record.")
        return consultant

    def _respond(self, consultant):
        context = {**self.get_serializer_context(), "summary": consultant_summary(consultant)}
        return Response(MeSerializer(consultant, context=context).data)

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return self._respond(self.get_object())

    @extend_schema(request=PreferencesSerializer, responses=MeSerializer)
    def patch(self, request):
        consultant = self.get_object()
        serializer = PreferencesSerializer(consultant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        consultant = services.consultant_update_preferences(
            consultant=consultant, by=request.user, **serializer.validated_data
        )
        return self._respond(consultant)


class ConsultantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Study staff only. The identity vault never appears here except through ``reveal``."""

    queryset = Consultant.objects.none()
    serializer_class = ConsultantSerializer
    permission_classes = [SignedInWithMFA, IsStaff, HasModelPermission]
    filterset_class = ConsultantFilter
    ordering_fields = ["display_name", "created_at", "id"]
    # A reveal is recorded each time and its answer is never stored for replay.
    idempotency_exempt_actions = frozenset({"reveal"})
    action_permissions = {
        "create": "consultants.add_consultant",
        "partial_update": "consultants.change_consultant",
        "reveal": "consultants.reveal_vault",
        "tax_form": "consultants.change_taxform",
    }

    def get_queryset(self):
        # Staff never read contact details here: they are not loaded (nor decrypted).
        return (
            Consultant.objects.select_related("tax_form")
            .defer(*ENCRYPTED_CONTACT_FIELDS, "tax_form__signed_copy")
            .order_by("-id")
        )

    @extend_schema(request=ConsultantCreateSerializer, responses={201: ConsultantSerializer})
    def create(self, request):
        serializer = ConsultantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consultant = services.consultant_create(by=request.user, **serializer.validated_data)
        return Response(
            ConsultantSerializer(consultant, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=PreferencesSerializer, responses=ConsultantSerializer)
    def partial_update(self, request, public_id=None):
        consultant = self.get_object()
        serializer = PreferencesSerializer(consultant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        consultant = services.consultant_update_preferences(
            consultant=consultant, by=request.user, **serializer.validated_data
        )
        fresh = self.get_queryset().get(pk=consultant.pk)
        return Response(ConsultantSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=RevealRequestSerializer, responses=RevealResponseSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, public_id=None):
        """Finance only: one identity field in clear, after recording who, when and why."""
        consultant = self.get_object()
        serializer = RevealRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        value = services.vault_reveal(
            consultant=consultant,
            field=serializer.validated_data["field"],
            by=request.user,
            reason=serializer.validated_data["reason"],
            context="api",
        )
        field = serializer.validated_data["field"]
        response = Response({"field": field, "value": None if value is None else str(value)})
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=TAX_FORM_RECEIVE_REQUEST, responses=TaxFormResultSerializer)
    @action(detail=True, methods=["post"], url_path="tax-form")
    def tax_form(self, request, public_id=None):
        """Finance only: record a W-9 or W-8BEN as received, and release every payment
        held only for it. The taxpayer id is never returned, only its last four digits."""
        consultant = self.get_object()
        serializer = TaxFormReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.taxform_receive(
            consultant=consultant,
            by=request.user,
            form_type=data["form_type"],
            received_on=data["received_on"],
            tin=data.get("tin", ""),
            reason=data["reason"],
        )
        response = Response(TaxFormResultSerializer(TaxFormResultSerializer.of(result)).data)
        response["Cache-Control"] = "no-store"
        return response
