"""Finance pages, under /finance/. Records are named by opaque ids only."""

from django.urls import path

from payments.views import batches, documents, taxforms
from payments.views import payments as payment_pages

app_name = "payments"

urlpatterns = [
    path("", batches.home, name="home"),
    path("batches/new/", batches.batch_build, name="batch_build"),
    path("batches/<uuid:public_id>/", batches.batch_detail, name="batch"),
    path("batches/<uuid:public_id>/progress/", batches.batch_progress, name="batch_progress"),
    path("batches/<uuid:public_id>/submit/", batches.batch_submit, name="batch_submit"),
    path("batches/<uuid:public_id>/approve/", batches.batch_approve, name="batch_approve"),
    path("batches/<uuid:public_id>/execute/", batches.batch_execute, name="batch_execute"),
    path("batches/<uuid:public_id>/cancel/", batches.batch_cancel, name="batch_cancel"),
    path("payments/<uuid:public_id>/", payment_pages.payment_detail, name="payment"),
    path("payments/<uuid:public_id>/record/", payment_pages.payment_record, name="payment_record"),
    path("payments/<uuid:public_id>/void/", payment_pages.payment_void, name="payment_void"),
    path(
        "payments/<uuid:public_id>/release/", payment_pages.payment_release, name="payment_release"
    ),
    path("payments/<uuid:public_id>/cancel/", payment_pages.payment_cancel, name="payment_cancel"),
    path("payments/<uuid:public_id>/retry/", payment_pages.payment_retry, name="payment_retry"),
    path(
        "payments/<uuid:public_id>/check-stripe/",
        payment_pages.payment_check_stripe,
        name="payment_check_stripe",
    ),
    path(
        "payments/<uuid:public_id>/returned/",
        payment_pages.payment_mark_returned,
        name="payment_mark_returned",
    ),
    path("payments/<uuid:public_id>/proof/", payment_pages.payment_proof, name="payment_proof"),
    path(
        "payments/<uuid:public_id>/tax-form/",
        taxforms.payment_taxform,
        name="payment_taxform",
    ),
    path("consultants/<uuid:public_id>/", taxforms.consultant_finance, name="consultant"),
    path(
        "consultants/<uuid:public_id>/tax-form/",
        taxforms.consultant_taxform,
        name="consultant_taxform",
    ),
    path(
        "consultants/<uuid:public_id>/tax-form/file/",
        taxforms.consultant_taxform_file,
        name="consultant_taxform_file",
    ),
    path("stripe/", batches.stripe_status, name="stripe_status"),
    path("receipts/", documents.receipts, name="receipts"),
    path("receipts/<uuid:public_id>/", documents.receipt_detail, name="receipt"),
    path("receipts/<uuid:public_id>/pdf/", documents.receipt_pdf, name="receipt_pdf"),
    path("receipts/<uuid:public_id>/replace/", documents.receipt_replace, name="receipt_replace"),
    path("statements/<int:year>/", documents.statements_year, name="statements"),
    path(
        "statements/<int:year>/generate/",
        documents.statements_generate,
        name="statements_generate",
    ),
    path("statements/file/<uuid:public_id>/pdf/", documents.statement_pdf, name="statement_pdf"),
    path("tax/", documents.tax_home, name="tax_home"),
    path("tax/<int:year>/", documents.tax_summary, name="tax"),
    path("tax/<int:year>/export/", documents.tax_export, name="tax_export"),
]
