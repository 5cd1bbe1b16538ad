from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views.agreements import AgreementViewSet
from api.views.base import not_found
from api.views.consents import ConsentRequestViewSet
from api.views.consultants import ConsultantViewSet, MeView
from api.views.documents import (
    PaymentReceiptView,
    ReceiptViewSet,
    StatementViewSet,
    TaxSummaryViewSet,
)
from api.views.engagements import (
    ContributionViewSet,
    EngagementViewSet,
    HistoryView,
    PhaseViewSet,
    RateCardViewSet,
    StudyViewSet,
)
from api.views.expenses import AdvanceViewSet, ClaimViewSet
from api.views.income import IncomeView, PayPlanViewSet
from api.views.meetings import InvitationViewSet, SessionViewSet
from api.views.payments import PaymentViewSet, PayoutBatchViewSet
from api.views.transparency import TransparencyDetailView, TransparencyListView

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("consultants", ConsultantViewSet, basename="consultant")
router.register("studies", StudyViewSet, basename="study")
router.register("phases", PhaseViewSet, basename="phase")
router.register("rate-cards", RateCardViewSet, basename="rate-card")
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("contributions", ContributionViewSet, basename="contribution")
router.register("payout-batches", PayoutBatchViewSet, basename="payout-batch")
router.register("payments", PaymentViewSet, basename="payment")
router.register("receipts", ReceiptViewSet, basename="receipt")
router.register("statements", StatementViewSet, basename="statement")
router.register("tax-summaries", TaxSummaryViewSet, basename="tax-summary")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("claims", ClaimViewSet, basename="claim")
router.register("advances", AdvanceViewSet, basename="advance")
router.register("consent-requests", ConsentRequestViewSet, basename="consent-request")
router.register("sessions", SessionViewSet, basename="session")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("pay-plans", PayPlanViewSet, basename="pay-plan")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("income/", IncomeView.as_view(), name="income"),
    path("history/", HistoryView.as_view(), name="history"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "payments/<uuid:public_id>/receipt/",
        PaymentReceiptView.as_view(),
        name="payment-receipt",
    ),
    path("transparency/", TransparencyListView.as_view(), name="transparency-list"),
    path(
        "transparency/<uuid:public_id>/",
        TransparencyDetailView.as_view(),
        name="transparency-detail",
    ),
    path("", include(router.urls)),
    # Anything else under the API answers in the API's own error shape.
    re_path(r"^[\s\S]*$", not_found, name="not-found"),
]
