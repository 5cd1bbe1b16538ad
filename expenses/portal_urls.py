"""The consultant's claims and advances, under /me/ (included next to portal.urls)."""

from django.urls import path

from expenses import portal_views

app_name = "expenses_portal"

urlpatterns = [
    path("reimbursements/", portal_views.reimbursements, name="reimbursements"),
    path("reimbursements/new/", portal_views.reimbursement_new, name="reimbursement_new"),
    path("advances/<uuid:public_id>/", portal_views.advance_detail, name="advance"),
]
