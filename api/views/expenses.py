"""Claims with their receipt files, and advances: a consultant sees only their own."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from api.serializers.expenses import (
    AdvanceGrantSerializer,
    AdvanceReceiptCreateSerializer,
    AdvanceSerializer,
    ClaimCreateSerializer,
    ClaimSerializer,
    SettleSerializer,
)
from api.views.base import HonoraViewSet
from core.errors import NotAllowed
from engagements.selectors import engagements_visible_to
from expenses import selectors
from expenses.models import Advance, Claim
from expenses.services import advance_grant, advance_receipt_add, advance_settle, claim_create


def _engagement(user, public_id, *, verb: str):
    """The engagement a body names; one the caller cannot see names nothing (404)."""
    engagement = engagements_visible_to(user).filter(public_id=public_id).first()
    if engagement is None:
        raise NotFound(f"No engagement with this id that you can {verb}.")
    return engagement


class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Reimbursement claims with their receipt files (stored without metadata)."""

    queryset = Claim.objects.none()
    serializer_class = ClaimSerializer
    ordering_fields = ["id"]

    def get_queryset(self):
        return (
            selectors.claims_visible_to(self.request.user).prefetch_related("files").order_by("-id")
        )

    def get_parsers(self):
        # Set before DRF knows the action: a POST here is always the create.
        request = getattr(self, "request", None)
        if getattr(self, "action", None) == "create" or (request and request.method == "POST"):
            return [MultiPartParser(), FormParser()]
        return super().get_parsers()

    @extend_schema(
        request={"multipart/form-data": ClaimCreateSerializer}, responses={201: ClaimSerializer}
    )
    def create(self, request):
        """A reimbursement with its receipts, sent for approval (multipart/form-data)."""
        fields = {key: request.data.get(key) for key in request.data if key != "files"}
        files = request.FILES.getlist("files")
        serializer = ClaimCreateSerializer(data={**fields, "files": files})
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        engagement = _engagement(request.user, values.pop("engagement"), verb="claim costs on")
        claim = claim_create(
            engagement=engagement,
            by=request.user,
            category=values["category"],
            date=values["date"],
            amount=values.get("amount", ""),
            distance=values.get("distance", ""),
            description=values.get("description", ""),
            files=values.get("files", []),
        )
        fresh = self.get_queryset().get(pk=claim.pk)
        return Response(ClaimSerializer(fresh).data, status=status.HTTP_201_CREATED)


class AdvanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Advances: granted by a coordinator, paid as a reimbursement, settled on receipts."""

    queryset = Advance.objects.none()
    serializer_class = AdvanceSerializer
    ordering_fields = ["id"]

    def get_queryset(self):
        return (
            selectors.advances_visible_to(self.request.user)
            .select_related("settlement__difference_contribution")
            .prefetch_related("receipts")
            .order_by("-id")
        )

    def _answer(self, advance, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=advance.pk)
        return Response(AdvanceSerializer(fresh).data, status=code)

    @extend_schema(request=AdvanceGrantSerializer, responses={201: AdvanceSerializer})
    def create(self, request):
        """Grant an advance (coordinators). Another coordinator approves its entry."""
        if not request.user.has_perm("engagements.add_contribution"):
            raise NotAllowed("Only a coordinator can grant an advance.")
        serializer = AdvanceGrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        engagement = _engagement(request.user, values.pop("engagement"), verb="grant advances on")
        advance = advance_grant(engagement=engagement, by=request.user, **values)
        return self._answer(advance, status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": AdvanceReceiptCreateSerializer},
        responses={201: AdvanceSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def receipts(self, request, public_id=None):
        """Add a receipt with its file (the consultant it belongs to, or a coordinator)."""
        advance = self.get_object()
        serializer = AdvanceReceiptCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        advance_receipt_add(
            advance=advance,
            by=request.user,
            amount=data["amount"],
            description=data.get("description", ""),
            upload=data["file"],
        )
        return self._answer(advance, status.HTTP_201_CREATED)

    @extend_schema(request=SettleSerializer, responses=AdvanceSerializer)
    @action(detail=True, methods=["post"])
    def settle(self, request, public_id=None):
        """Weigh the paid advance against its receipts, once (a second time is 409)."""
        advance = self.get_object()
        serializer = SettleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        advance_settle(
            advance=advance, by=request.user, note=serializer.validated_data.get("note", "")
        )
        return self._answer(advance)
