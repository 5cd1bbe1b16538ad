"""Payout batches and payments over the API, through the same services as the pages.

Batches are for finance only (anyone else: 403). Payments: finance sees every
one; a consultant sees their own (anyone else's is a 404) and may not act on
it (403); other roles get 403.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from api.filters import PaymentFilter, PayoutBatchFilter
from api.permissions import SignedInWithMFA
from api.serializers.common import ReasonSerializer
from api.serializers.payments import (
    BatchBuildSerializer,
    PaymentAttemptSerializer,
    PaymentSerializer,
    PayoutBatchSerializer,
    RecordManualSerializer,
)
from api.views.base import HonoraViewSet
from core.errors import ValidationFailed
from engagements.models import Phase, Study
from payments import selectors
from payments.models import Payment, PaymentAttempt, PaymentItem, PayoutBatch
from payments.services import batches as batch_actions
from payments.services import finance

ONLY_FINANCE = "Only finance can do this."

# What PaymentSerializer reads (list and detail), with the keys that join it.
PAYMENT_COLUMNS = (
    *(
        f
        for f in PaymentSerializer.Meta.fields
        if f not in ("batch", "consultant", "consultant_name", "payout_method")
        and f not in ("status_note", "has_proof", "items", "attempts")
    ),
    "method",
    "proof",
    "batch__public_id",
    "consultant__public_id",
    "consultant__display_name",
)
ITEM_COLUMNS = (
    "payment_id",
    "amount",
    "live",
    "contribution__public_id",
    "contribution__kind",
    "contribution__activity",
    "contribution__date",
    "contribution__quantity",
    "contribution__rate",
    "contribution__engagement__phase__name",
)
ATTEMPT_COLUMNS = ("payment_id", *PaymentAttemptSerializer.Meta.fields)


class IsFinance(permissions.BasePermission):
    message = "This is for finance."

    def has_permission(self, request, view):
        return selectors.is_finance(request.user)


class FinanceOrConsultant(permissions.BasePermission):
    """Finance, or a consultant reading their own payments."""

    message = "This is for finance, or for consultants about their own payments."

    def has_permission(self, request, view):
        user = request.user
        return selectors.is_finance(user) or getattr(user, "consultant", None) is not None


class PayoutBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Build a batch, send it for approval, approve (someone else), execute, or cancel."""

    queryset = PayoutBatch.objects.none()
    serializer_class = PayoutBatchSerializer
    permission_classes = [SignedInWithMFA, IsFinance]
    filterset_class = PayoutBatchFilter
    ordering_fields = ["created_at", "cutoff_date", "id"]

    def get_queryset(self):
        return selectors.batch_rows(selectors.batches_visible_to(self.request.user)).order_by("-id")

    def _serialize(self, batches: list):
        # One summary query set for the whole page, not one per batch.
        context = {
            **self.get_serializer_context(),
            "summaries": selectors.batch_summaries(batches),
        }
        return PayoutBatchSerializer(batches, many=True, context=context).data

    def _answer(self, batch, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=batch.pk)
        return Response(self._serialize([fresh])[0], status=code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._serialize(list(page)))

    def retrieve(self, request, public_id=None):
        """The batch with totals by method, counts by payment status and every flag."""
        return self._answer(self.get_object())

    @extend_schema(request=BatchBuildSerializer, responses={201: PayoutBatchSerializer})
    def create(self, request):
        """Build a batch from approved, unpaid work up to the cut-off date."""
        serializer = BatchBuildSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        study = phase = None
        if data["study"] is not None:
            study = Study.objects.filter(public_id=data["study"]).first()
            if study is None:
                raise ValidationFailed("No study with this id.", field="study")
        if data["phase"] is not None:
            phase = Phase.objects.filter(pk=data["phase"]).first()
            if phase is None:
                raise ValidationFailed("No phase with this id.", field="phase")
        batch = batch_actions.batch_build(
            by=request.user,
            cutoff_date=data["cutoff_date"],
            study=study,
            phase=phase,
            method=data["payout_method"],
            note=data["note"],
        )
        return self._answer(batch, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PayoutBatchSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, public_id=None):
        """Ask a second finance person to approve."""
        batch = batch_actions.batch_submit(batch=self.get_object(), by=request.user)
        return self._answer(batch)

    @extend_schema(request=None, responses=PayoutBatchSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, public_id=None):
        """Never by whoever built the batch, nor by anyone paid in it."""
        batch = batch_actions.batch_approve(batch=self.get_object(), by=request.user)
        return self._answer(batch)

    @extend_schema(request=None, responses=PayoutBatchSerializer)
    @action(detail=True, methods=["post"])
    def execute(self, request, public_id=None):
        """Start paying an approved batch; direct deposits go out as background tasks."""
        # Stripe's balance is read first: when the configured source type does not cover
        # the batch's direct deposits (409 balance_insufficient) or Stripe cannot be
        # reached (409 stripe_balance_unavailable), nothing changes.
        batch = batch_actions.batch_execute_funded(batch=self.get_object(), by=request.user)
        return self._answer(batch)

    @extend_schema(request=ReasonSerializer, responses=PayoutBatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        """Before execution: every payment is cancelled and its work released."""
        batch = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = batch_actions.batch_cancel(
            batch=batch, by=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(batch)


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    """Payments with their items. Finance acts on them; a consultant reads their own."""

    queryset = Payment.objects.none()
    serializer_class = PaymentSerializer
    permission_classes = [SignedInWithMFA, FinanceOrConsultant]
    filterset_class = PaymentFilter
    ordering_fields = ["created_at", "amount", "id"]

    def get_queryset(self):
        visible = selectors.payments_visible_to(self.request.user)
        if self.action not in ("list", "retrieve"):
            return (
                selectors.payment_rows(visible)
                .prefetch_related(
                    Prefetch("attempts", queryset=PaymentAttempt.objects.order_by("number"))
                )
                .order_by("-id")
            )
        # Reading only: the columns PaymentSerializer shows, three or four queries a page.
        items = (
            PaymentItem.objects.select_related("contribution__engagement__phase")
            .only(*ITEM_COLUMNS)
            .order_by("contribution__date", "id")
        )
        qs = (
            visible.select_related("batch", "consultant")
            .only(*PAYMENT_COLUMNS)
            .prefetch_related(Prefetch("items", queryset=items))
            .order_by("-id")
        )
        if selectors.is_finance(self.request.user):  # others get no attempts: not read
            attempts = PaymentAttempt.objects.only(*ATTEMPT_COLUMNS).order_by("number")
            qs = qs.prefetch_related(Prefetch("attempts", queryset=attempts))
        return qs

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "finance": selectors.is_finance(self.request.user),
        }

    def _finance_payment(self) -> Payment:
        payment = self.get_object()  # 404 for a payment the caller cannot see
        if not selectors.is_finance(self.request.user):
            raise PermissionDenied(ONLY_FINANCE)
        return payment

    def _answer(self, payment):
        fresh = self.get_queryset().get(pk=payment.pk)
        return Response(PaymentSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=RecordManualSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def record_manual(self, request, public_id=None):
        """A check, card or cash was handed over (proof files are uploaded on the page)."""
        payment = self._finance_payment()
        serializer = RecordManualSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = finance.payment_record_manual(
            payment=payment, by=request.user, **serializer.validated_data
        )
        return self._answer(payment)

    @extend_schema(request=ReasonSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request, public_id=None):
        """A manual payment that did not happen; its work is released."""
        payment = self._finance_payment()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = finance.payment_void(
            payment=payment, by=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(payment)

    @extend_schema(request=None, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, public_id=None):
        """Check a held payment again; it goes ahead only if its reason is resolved."""
        payment = finance.payment_release_hold(payment=self._finance_payment(), by=request.user)
        return self._answer(payment)

    @extend_schema(request=ReasonSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        """Give up on an unpaid payment; its work is released for a later batch."""
        payment = self._finance_payment()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = finance.payment_cancel(
            payment=payment, by=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(payment)

    @extend_schema(request=None, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, public_id=None):
        """Try a failed payment again, as a new attempt."""
        payment = finance.payment_retry(payment=self._finance_payment(), by=request.user)
        return self._answer(payment)

    @extend_schema(request=None, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def check_with_stripe(self, request, public_id=None):
        """Ask Stripe whether a transfer exists for a failed payment that was sent.

        A worker lists the payment's transfer group: a transfer found is recorded as
        paid; if none exists, the payment can then be cancelled.
        """
        payment = finance.payment_check_with_stripe(
            payment=self._finance_payment(), by=request.user
        )
        return self._answer(payment)

    @extend_schema(request=ReasonSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def mark_returned(self, request, public_id=None):
        """A paid check, card or cash came back; its work is released for a later batch."""
        payment = self._finance_payment()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = finance.payment_mark_returned(
            payment=payment, by=request.user, reason=serializer.validated_data["reason"]
        )
        return self._answer(payment)
