"""The consultant's own portal, under /me/. Records are named by opaque ids only."""

from django.urls import path

from consultants import portal_views as views
from payments import portal_views as payments_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("contributions/", views.contributions, name="contributions"),
    path("contributions/<uuid:public_id>/", views.contribution_detail, name="contribution"),
    path("log/", views.log_hours, name="log"),
    path("payments/", payments_views.my_payments, name="payments"),
    path("payments/direct-deposit/", payments_views.stripe_onboarding, name="stripe_onboarding"),
    path("receipts/", payments_views.my_receipts, name="receipts"),
    path("receipts/<uuid:public_id>/pdf/", payments_views.receipt_pdf, name="receipt_pdf"),
    path("statements/<uuid:public_id>/pdf/", payments_views.statement_pdf, name="statement_pdf"),
    path("statements/prepare/", payments_views.statement_prepare, name="statement_prepare"),
    path("preferences/", views.preferences, name="preferences"),
]
