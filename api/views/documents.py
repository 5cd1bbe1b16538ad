"""Receipts, annual statements and the tax summary over the API, plus the public check.

Who sees what is the pages' rule: finance sees every document, a consultant only
their own (anyone else's is a 404), other roles get 403. Documents are served as
stored, checked against their SHA-256; while one is still being rendered the
answer is 409 with code ``not_ready``. The receipt check is public (no sign-in),
throttled per address, and never says who was paid.
"""

from __future__ import annotations

import dataclasses

import django_filters
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.access import get_visible_or_404
from api.filters import StrictFilterSet, YearFilter
from api.permissions import SignedInWithMFA
from api.schema import ErrorSerializer
from api.serializers.common import ReasonSerializer
from api.serializers.documents import (
    ReceiptSerializer,
    StatementRequestedSerializer,
    StatementRequestSerializer,
    StatementSerializer,
    TaxSummarySerializer,
    VerificationSerializer,
)
from api.views.base import HonoraViewSet
from api.views.payments import FinanceOrConsultant, IsFinance
from consultants.models import Consultant
from core.errors import StateConflict
from core.files import bytes_download
from payments import selectors
from payments.documents import statements
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import (
    RECEIPT_STATUSES,
    current_receipt,
    receipt_replace,
    receipt_verify,
)
from payments.documents.rendering import document_filename, document_pdf
from payments.models import Payment

PDF = OpenApiResponse(OpenApiTypes.BINARY, description="The stored PDF, exactly as issued.")
NOT_READY = OpenApiResponse(
    ErrorSerializer,
    description=(
        "not_ready: the PDF is still being rendered, try again shortly; "
        "document_unavailable: the stored file no longer matches its SHA-256 and is not served."
    ),
)
PDF_RESPONSES = {(200, "application/pdf"): PDF, 409: NOT_READY}


class JsonErrorsNegotiation(DefaultContentNegotiation):
    """Documents go out as raw bytes; everything else (errors) is JSON whatever was asked."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DocumentMixin:
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonErrorsNegotiation

    def pdf_response(self, document) -> HttpResponse:
        return bytes_download(
            document_pdf(document),
            filename=document_filename(document),
            content_type="application/pdf",
        )


def _is_finance(request) -> bool:
    return selectors.is_finance(request.user)


# --- a payment's receipt ----------------------------------------------------------------


class PaymentReceiptView(DocumentMixin, APIView):
    """The stored PDF of a payment's receipt in force (finance, or the consultant paid)."""

    permission_classes = [SignedInWithMFA, FinanceOrConsultant]

    @extend_schema(
        operation_id="payments_receipt_retrieve",
        tags=["payments"],
        responses=PDF_RESPONSES,
        description=(
            "The PDF of the payment's current receipt. 404 when the payment is not yours "
            "or has no receipt (it is not paid); 409 not_ready while it is rendered."
        ),
    )
    def get(self, request, public_id):
        payment = get_visible_or_404(
            selectors.payments_visible_to(request.user), public_id=public_id
        )
        receipt = current_receipt(payment)
        if receipt is None:
            if payment.status == payment.Status.PAID:
                # Paid a moment ago: a worker is issuing the receipt.
                raise StateConflict(
                    "The receipt is still being prepared. Try again in a moment.",
                    code="not_ready",
                )
            raise NotFound("This payment has no receipt: it is not paid.")
        return self.pdf_response(receipt)


# --- receipts ------------------------------------------------------------------------------


class ReceiptFilter(StrictFilterSet):
    year = YearFilter()
    consultant = django_filters.UUIDFilter(field_name="consultant__public_id")
    payment = django_filters.UUIDFilter(field_name="payment__public_id")
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in RECEIPT_STATUSES], method="filter_status"
    )

    class Meta:
        model = Receipt
        fields = []

    def filter_status(self, queryset, name, value):
        # The same rule as payments.documents.receipts.receipt_status, in SQL.
        if value == "replaced":
            return queryset.filter(replaced_by__isnull=False)
        reversed_ = Q(payment__status__in=(Payment.Status.VOIDED, Payment.Status.RETURNED))
        current = queryset.filter(replaced_by__isnull=True)
        return current.filter(reversed_) if value == "void" else current.exclude(reversed_)


class VerifyThrottle(SimpleRateThrottle):
    """Per address: receipt codes cannot be guessed at speed."""

    scope = "receipt_verify"
    default_rate = "30/min"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope, self.default_rate)

    def get_cache_key(self, request, view):
        return f"throttle_{self.scope}_{self.get_ident(request)}"


class ReceiptViewSet(
    DocumentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet
):
    """Receipts with their replacements: finance sees all, a consultant their own."""

    queryset = Receipt.objects.none()
    serializer_class = ReceiptSerializer
    permission_classes = [SignedInWithMFA, FinanceOrConsultant]
    filterset_class = ReceiptFilter
    ordering_fields = ["issued_at", "paid_on", "id"]

    def get_queryset(self):
        return selectors.receipt_rows(selectors.receipts_visible_to(self.request.user)).order_by(
            "-id"
        )

    @extend_schema(responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"])
    def pdf(self, request, public_id=None):
        """The stored PDF, exactly as issued (replaced receipts stay available)."""
        return self.pdf_response(self.get_object())

    @extend_schema(request=ReasonSerializer, responses={201: ReceiptSerializer})
    @action(detail=True, methods=["post"])
    def replace(self, request, public_id=None):
        """Finance: issue a corrected receipt that refers to this one (a reason is required)."""
        receipt = self.get_object()  # 404 for a receipt the caller cannot see
        if not _is_finance(request):
            raise PermissionDenied("Only finance can replace receipts.")
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new = receipt_replace(
            receipt=receipt, by=request.user, reason=serializer.validated_data["reason"]
        )
        fresh = self.get_queryset().get(pk=new.pk)
        return Response(ReceiptSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        auth=[],
        parameters=[
            OpenApiParameter(
                "code",
                str,
                OpenApiParameter.PATH,
                description="The verification code printed on the receipt.",
            )
        ],
        responses={200: VerificationSerializer, 404: ErrorSerializer, 429: ErrorSerializer},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path=r"verify/(?P<code>[^/]+)",
        permission_classes=[AllowAny],
        authentication_classes=[],
        throttle_classes=[VerifyThrottle],
    )
    def verify(self, request, code=None):
        """Public: confirm a receipt is genuine. Never says who was paid."""
        check = receipt_verify(code)
        if check is None:
            raise NotFound("No receipt has this verification code.")
        return Response(VerificationSerializer(dataclasses.asdict(check)).data)


# --- annual statements ---------------------------------------------------------------------


class StatementFilter(StrictFilterSet):
    year = YearFilter()
    consultant = django_filters.UUIDFilter(field_name="consultant__public_id")

    class Meta:
        model = AnnualStatement
        fields = []


class StatementViewSet(
    DocumentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet
):
    """Annual statements, every version kept: finance sees all, a consultant their own."""

    queryset = AnnualStatement.objects.none()
    serializer_class = StatementSerializer
    permission_classes = [SignedInWithMFA, FinanceOrConsultant]
    filterset_class = StatementFilter
    ordering_fields = ["year", "generated_at", "id"]

    def get_queryset(self):
        return selectors.statement_rows(
            selectors.statements_visible_to(self.request.user)
        ).order_by("-id")

    @extend_schema(
        request=StatementRequestSerializer,
        responses={202: StatementRequestedSerializer},
    )
    def create(self, request):
        """Queue a new version of a statement; a worker renders it (202: not done yet).

        A consultant asks for their own; finance for one consultant, or for everyone
        paid in the year when ``consultant`` is left out.
        """
        serializer = StatementRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        year = serializer.validated_data["year"]
        wanted = serializer.validated_data["consultant"]
        if _is_finance(request) and wanted is None:
            queued = statements.statements_request_year(year=year, by=request.user)
        else:
            consultant = self._consultant(request, wanted)
            queued = (
                [consultant]
                if statements.statement_request(consultant=consultant, year=year, by=request.user)
                else []
            )
        body = {
            "year": year,
            "count": len(queued),
            "consultants": [c.public_id for c in queued],
        }
        return Response(StatementRequestedSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    def _consultant(self, request, wanted) -> Consultant:
        if _is_finance(request):
            consultant = Consultant.objects.filter(public_id=wanted).first()
        else:
            own = getattr(request.user, "consultant", None)
            consultant = own if wanted is None or wanted == own.public_id else None
        if consultant is None:
            raise NotFound("No consultant with this id.")
        return consultant

    @extend_schema(responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"])
    def pdf(self, request, public_id=None):
        """The stored PDF of this version, exactly as generated."""
        return self.pdf_response(self.get_object())


# --- the year's tax summary -----------------------------------------------------------------


class TaxSummaryViewSet(viewsets.GenericViewSet):
    """Finance only. The JSON names consultants by display name and public id only; legal
    names and taxpayer ids leave only in ``export``'s CSV, each reveal recorded.

    Not idempotent on purpose: a replayed export would have to keep the CSV (identity
    data) in the idempotency table, and each export is a reveal of its own, recorded.
    """

    permission_classes = [SignedInWithMFA, IsFinance]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonErrorsNegotiation
    serializer_class = TaxSummarySerializer
    lookup_field = "year"
    lookup_value_regex = r"[0-9]{4}"
    http_method_names = ["get", "post", "head", "options"]
    pagination_class = None
    filter_backends = []

    def _year(self) -> int:
        year = int(self.kwargs["year"])
        if not 2000 <= year <= timezone.localdate().year:
            raise NotFound("No tax summary for this year.")
        return year

    @extend_schema(
        parameters=[OpenApiParameter("year", int, OpenApiParameter.PATH)],
        responses=TaxSummarySerializer,
    )
    def retrieve(self, request, year=None):
        """Each consultant's reportable total by rail (reimbursements excluded)."""
        year = self._year()
        summary = statements.tax_summary(year)
        body = {
            "year": year,
            "threshold": summary.threshold,
            "rows": [
                {
                    "consultant": row.consultant,
                    "stripe": row.stripe,
                    "manual": row.manual,
                    "reportable": row.reportable,
                    "reimbursements": row.reimbursements,
                    "threshold_reached": summary.reached(row),
                    "w9_status": row.w9_status,
                }
                for row in summary.rows
            ],
        }
        return Response(TaxSummarySerializer(body).data)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, OpenApiParameter.PATH)],
        request=ReasonSerializer,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    "The 1099-NEC filing CSV, with legal names, taxpayer ids and addresses. "
                    "Each reveal is recorded with who, when and the reason."
                ),
            )
        },
    )
    @action(detail=True, methods=["post"])
    def export(self, request, year=None):
        """The CSV a 1099-NEC filing service expects; the reason is recorded with each reveal."""
        year = self._year()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        text = statements.tax_summary_csv(
            year=year, by=request.user, reason=serializer.validated_data["reason"]
        )
        return bytes_download(
            text.encode("utf-8"),
            filename=f"tax-summary-{year}.csv",
            content_type="text/csv; charset=utf-8",
        )
