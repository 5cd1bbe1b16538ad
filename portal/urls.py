"""The consultant's own portal, under /me/. Records are named by opaque ids only."""

from django.urls import path

from portal.views import (
    agreements,
    contributions,
    documents,
    home,
    income,
    log_hours,
    payments,
    preferences,
    reimbursements,
)
from portal.views import sessions as sessions_views
from portal.views.consents import consent_detail, consent_revoke, consents

app_name = "portal"

urlpatterns = [
    path("", home.home, name="home"),
    path("contributions/", contributions.contributions, name="contributions"),
    path(
        "contributions/<uuid:public_id>/",
        contributions.contribution_detail,
        name="contribution",
    ),
    path("log/", log_hours.log_hours, name="log"),
    path("payments/", payments.my_payments, name="payments"),
    path("payments/direct-deposit/", payments.stripe_onboarding, name="stripe_onboarding"),
    path("receipts/", documents.my_receipts, name="receipts"),
    path("receipts/<uuid:public_id>/pdf/", documents.receipt_pdf, name="receipt_pdf"),
    path("statements/<uuid:public_id>/pdf/", documents.statement_pdf, name="statement_pdf"),
    path("statements/prepare/", documents.statement_prepare, name="statement_prepare"),
    path("statements/status/", documents.statement_status, name="statement_status"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("agreements/", agreements.my_agreements, name="agreements"),
    path("agreements/<uuid:public_id>/", agreements.agreement_detail, name="agreement"),
    path(
        "agreements/<uuid:public_id>/pdf/",
        agreements.agreement_pdf_download,
        name="agreement_pdf",
    ),
    path("reimbursements/", reimbursements.reimbursements, name="reimbursements"),
    path("reimbursements/new/", reimbursements.reimbursement_new, name="reimbursement_new"),
    path("advances/<uuid:public_id>/", reimbursements.advance_detail, name="advance"),
    path("income/", income.income, name="income"),
    path("income/plan/", income.plan_new, name="income_plan"),
    path("income/plan/<uuid:public_id>/cancel/", income.plan_cancel, name="income_plan_cancel"),
    path("income/letter/", income.letter, name="income_letter"),
    path("income/letter/<uuid:public_id>/", income.letter_done, name="income_letter_done"),
    path(
        "income/letter/<uuid:public_id>/pdf/",
        income.letter_download,
        name="income_letter_pdf",
    ),
    path("consents/", consents, name="consents"),
    path("consents/<uuid:public_id>/", consent_detail, name="consent"),
    path("consents/<uuid:public_id>/revoke/", consent_revoke, name="consent_revoke"),
    path("sessions/", sessions_views.my_sessions, name="sessions"),
    path(
        "sessions/<uuid:public_id>/decline/",
        sessions_views.session_decline,
        name="session_decline",
    ),
    path(
        "sessions/<uuid:public_id>/calendar.ics",
        sessions_views.session_calendar,
        name="session_calendar",
    ),
]
