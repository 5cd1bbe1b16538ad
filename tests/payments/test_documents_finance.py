"""Finance's receipts, statements and the year's tax summary; coordinators see none of it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from consultants.models import VaultReveal
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.statements import statement_generate
from tests.payments.documents_support import (
    LEGAL_NAME,
    PSEUDONYM,
    TIN,
    assert_pdf_states_the_receipt,
    body_of,
    pdf_text,
)

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def paid(paid_by_check):
    return paid_by_check


@pytest.fixture
def fin(client, finance):
    client.force_login(finance)
    return client


def _urls(payment, receipt, statement):
    year = receipt.year
    pid = {"public_id": receipt.public_id}
    return {
        "get": [
            reverse("payments:receipts"),
            reverse("payments:receipt", kwargs=pid),
            reverse("payments:receipt_pdf", kwargs=pid),
            reverse("payments:statements", kwargs={"year": year}),
            reverse("payments:statement_pdf", kwargs={"public_id": statement.public_id}),
            reverse("payments:tax_home"),
            reverse("payments:tax", kwargs={"year": year}),
        ],
        "post": [
            (reverse("payments:receipt_replace", kwargs=pid), {"replace-reason": "x"}),
            (reverse("payments:statements_generate", kwargs={"year": year}), {}),
            (reverse("payments:tax_export", kwargs={"year": year}), {"export-reason": "x"}),
        ],
    }


def test_coordinators_and_admins_get_403_on_every_document_page(
    client, paid, coordinator, admin_user
):
    payment, receipt = paid
    statement = statement_generate(consultant=payment.consultant, year=receipt.year)
    urls = _urls(payment, receipt, statement)
    for user in (coordinator, admin_user):
        client.force_login(user)
        for url in urls["get"]:
            response = client.get(url)
            assert response.status_code == 403, url
            assert b"%PDF" not in response.content
        for url, data in urls["post"]:
            assert client.post(url, data).status_code == 403, url
    assert Receipt.objects.count() == 1
    assert not VaultReveal.objects.exists()


def test_finance_lists_receipts_by_display_name_and_downloads_any(fin, paid):
    _payment, receipt = paid
    page = fin.get(reverse("payments:receipts")).content.decode()
    assert receipt.number in page and "River" in page and "Valid" in page
    # The name printed on the receipt (here the legal name) stays off the page.
    assert LEGAL_NAME not in page
    response = fin.get(reverse("payments:receipt_pdf", kwargs={"public_id": receipt.public_id}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{receipt.number}.pdf"'
    assert "no-store" in response["Cache-Control"]
    # The consultant chose their legal name for receipts: it is on the PDF.
    assert_pdf_states_the_receipt(pdf_text(body_of(response)), receipt, name=LEGAL_NAME)


def test_replacing_needs_a_reason_and_keeps_the_original(fin, paid, settings):
    _payment, original = paid
    url = reverse("payments:receipt_replace", kwargs={"public_id": original.public_id})
    response = fin.post(url, {"replace-reason": "  "})
    assert response.status_code == 400
    assert "Say why the receipt is replaced." in response.content.decode()
    assert Receipt.objects.count() == 1

    settings.TASKS = IMMEDIATE
    response = fin.post(url, {"replace-reason": "Consultant asked for a new copy"})
    replacement = Receipt.objects.get(replaces=original)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "payments:receipt", kwargs={"public_id": replacement.public_id}
    )
    assert replacement.reason == "Consultant asked for a new copy"
    detail = fin.get(
        reverse("payments:receipt", kwargs={"public_id": original.public_id})
    ).content.decode()
    assert f"Replaced by receipt {replacement.number}" in detail
    assert "Issue the replacement" not in detail
    # Replacing the same receipt twice is a conflict, not a second replacement.
    assert fin.post(url, {"replace-reason": "again"}).status_code == 409
    assert Receipt.objects.count() == 2


def test_tax_summary_shows_totals_by_rail_with_display_names_only(fin, paid, settings):
    settings.TAX_FORM_THRESHOLDS = {2025: Decimal("600.00"), 2026: Decimal("2000.00")}
    _payment, receipt = paid
    year = receipt.year
    response = fin.get(reverse("payments:tax", kwargs={"year": year}))
    assert response.status_code == 200
    page = response.content.decode()
    assert "River" in page
    assert "300.00" in page  # reportable: pay only
    assert "23.40" in page  # reimbursements, shown apart and excluded
    assert "2,000.00" in page and "On file" in page
    for secret in (LEGAL_NAME, TIN, "Elm Street", PSEUDONYM):
        assert secret not in page
    assert not VaultReveal.objects.exists()
    # The picker goes to the chosen year.
    picked = fin.get(reverse("payments:tax_home"), {"year": str(year)})
    assert picked["Location"] == reverse("payments:tax", kwargs={"year": year})
    assert fin.get(reverse("payments:tax", kwargs={"year": 2999})).status_code == 404


def test_tax_export_requires_a_reason_and_records_every_reveal(fin, paid, finance):
    payment, receipt = paid
    url = reverse("payments:tax_export", kwargs={"year": receipt.year})
    refused = fin.post(url, {"export-reason": ""})
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("text/html")
    assert "Say why you are exporting" in refused.content.decode()
    assert not VaultReveal.objects.exists()

    response = fin.post(url, {"export-reason": "1099-NEC filing"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert (
        response["Content-Disposition"] == f'attachment; filename="tax-summary-{receipt.year}.csv"'
    )
    (row,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert row["Recipient Name"] == LEGAL_NAME and row["Recipient TIN"] == TIN
    assert row["Box 1 Nonemployee Compensation"] == "300.00"
    reveals = VaultReveal.objects.filter(consultant=payment.consultant)
    assert reveals.count() == 3
    assert set(reveals.values_list("revealed_by", "reason")) == {(finance.pk, "1099-NEC filing")}


def test_bulk_statements_enqueue_one_task_per_consultant_paid_that_year(
    fin, paid, outsider, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    payment, receipt = paid
    year = receipt.year
    url = reverse("payments:statements_generate", kwargs={"year": year})
    with django_capture_on_commit_callbacks(execute=True):
        response = fin.post(url)
    assert response.status_code == 302
    # One consultant was paid that year (the outsider was not): one task, no PDF yet.
    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "payments.documents.tasks.generate_statement"
    assert task.args_kwargs["args"][:2] == [payment.consultant.pk, year]
    assert not AnnualStatement.objects.exists()
    page = fin.get(reverse("payments:statements", kwargs={"year": year})).content.decode()
    assert f"The one consultant paid in {year} has no statement yet." in page
    assert "1 still being prepared" in page
    # Twice is not two tasks while the first is still waiting.
    with django_capture_on_commit_callbacks(execute=True):
        fin.post(url)
    assert DBTaskResult.objects.count() == 1


def test_bulk_statements_rendered_by_workers_show_as_progress(
    fin, paid, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    payment, receipt = paid
    year = receipt.year
    with django_capture_on_commit_callbacks(execute=True):
        fin.post(reverse("payments:statements_generate", kwargs={"year": year}))
    statement = AnnualStatement.objects.get(consultant=payment.consultant, year=year)
    page = fin.get(reverse("payments:statements", kwargs={"year": year})).content.decode()
    assert f"The one consultant paid in {year} has a statement." in page
    assert "1 prepared since" in page
    assert "still being prepared" not in page
    response = fin.get(reverse("payments:statement_pdf", kwargs={"public_id": statement.public_id}))
    assert response.status_code == 200
    text = pdf_text(body_of(response))
    assert f"For {LEGAL_NAME}" in text and receipt.number in text
