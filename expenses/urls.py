from django.urls import path

from expenses import views

app_name = "expenses"

urlpatterns = [
    path("advances/", views.advance_list, name="advances"),
    path("advances/<uuid:public_id>/", views.advance_detail, name="advance"),
    path("studies/<uuid:public_id>/advances/new/", views.advance_grant_view, name="advance_grant"),
    path("files/claims/<uuid:public_id>/", views.claim_file, name="claim_file"),
    path(
        "files/advance-receipts/<uuid:public_id>/",
        views.advance_receipt_file,
        name="advance_receipt_file",
    ),
]
