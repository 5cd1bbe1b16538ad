"""Finance pages, under /finance/. Records are named by opaque ids only."""

from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("", views.home, name="home"),
    path("batches/new/", views.batch_build, name="batch_build"),
    path("batches/<uuid:public_id>/", views.batch_detail, name="batch"),
    path("batches/<uuid:public_id>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<uuid:public_id>/submit/", views.batch_submit, name="batch_submit"),
    path("batches/<uuid:public_id>/approve/", views.batch_approve, name="batch_approve"),
    path("batches/<uuid:public_id>/execute/", views.batch_execute, name="batch_execute"),
    path("batches/<uuid:public_id>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("payments/<uuid:public_id>/", views.payment_detail, name="payment"),
    path("payments/<uuid:public_id>/record/", views.payment_record, name="payment_record"),
    path("payments/<uuid:public_id>/void/", views.payment_void, name="payment_void"),
    path("payments/<uuid:public_id>/release/", views.payment_release, name="payment_release"),
    path("payments/<uuid:public_id>/cancel/", views.payment_cancel, name="payment_cancel"),
    path("payments/<uuid:public_id>/retry/", views.payment_retry, name="payment_retry"),
    path(
        "payments/<uuid:public_id>/check-stripe/",
        views.payment_check_stripe,
        name="payment_check_stripe",
    ),
    path(
        "payments/<uuid:public_id>/returned/",
        views.payment_mark_returned,
        name="payment_mark_returned",
    ),
    path("payments/<uuid:public_id>/proof/", views.payment_proof, name="payment_proof"),
    path("stripe/", views.stripe_status, name="stripe_status"),
    path("receipts/", views.receipts, name="receipts"),
    path("receipts/<uuid:public_id>/", views.receipt_detail, name="receipt"),
    path("receipts/<uuid:public_id>/pdf/", views.receipt_pdf, name="receipt_pdf"),
    path("receipts/<uuid:public_id>/replace/", views.receipt_replace, name="receipt_replace"),
    path("statements/<int:year>/", views.statements_year, name="statements"),
    path(
        "statements/<int:year>/generate/",
        views.statements_generate,
        name="statements_generate",
    ),
    path("statements/file/<uuid:public_id>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("tax/", views.tax_home, name="tax_home"),
    path("tax/<int:year>/", views.tax_summary, name="tax"),
    path("tax/<int:year>/export/", views.tax_export, name="tax_export"),
]
