"""The consultant's receipts and statements in the portal: their own, as stored."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.urls import reverse

from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import receipt_render, receipt_replace
from payments.documents.statements import statement_generate
from tests.payments.documents_support import (
    LEGAL_NAME,
    PSEUDONYM,
    assert_pdf_states_the_receipt,
    body_of,
    pdf_text,
)
from tests.payments.factories_payouts import STANDARD_ENTRIES, approved_work

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def paid(paid_by_check_as_pseudonym):
    return paid_by_check_as_pseudonym


@pytest.fixture
def mine(client, consultant):
    client.force_login(consultant.user)
    return client


def _download(client, name, document):
    return client.get(reverse(name, kwargs={"public_id": document.public_id}))


def test_it_lists_my_receipts_and_statement_years(mine, paid):
    _payment, receipt = paid
    text = mine.get(reverse("portal:receipts")).content.decode()
    assert receipt.number in text
    assert "$323.40" in text and "Valid" in text
    assert reverse("portal:receipt_pdf", kwargs={"public_id": receipt.public_id}) in text
    assert f"Prepare my statement for {receipt.year}" in text


def test_a_receipt_downloads_as_stored_and_says_what_the_database_says(mine, paid):
    _payment, receipt = paid
    response = _download(mine, "portal:receipt_pdf", receipt)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{receipt.number}.pdf"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    data = body_of(response)
    with receipt.pdf.open("rb") as stored:
        assert data == stored.read()
    text = pdf_text(data)
    # Named as the consultant chose (their pseudonym): not the legal or display name.
    assert_pdf_states_the_receipt(text, receipt, name=PSEUDONYM)
    assert LEGAL_NAME not in text and "River" not in text


def test_a_replacement_refers_to_the_original_and_both_stay_downloadable(mine, paid, finance):
    _payment, original = paid
    replacement = receipt_replace(receipt=original, by=finance, reason="Wrong check number")
    receipt_render(receipt_id=replacement.pk)
    page = mine.get(reverse("portal:receipts")).content.decode()
    assert "Replaced" in page and f'href="#receipt-{replacement.number}"' in page
    assert f"replaces {original.number}" in page
    old = pdf_text(body_of(_download(mine, "portal:receipt_pdf", original)))
    new = pdf_text(body_of(_download(mine, "portal:receipt_pdf", replacement)))
    assert f"Receipt {original.number}" in old and "replaces" not in old
    assert f"This receipt replaces receipt {original.number}" in new
    assert "Reason: Wrong check number" in new
    assert f"Receipt {replacement.number}" in new


def test_a_tampered_file_is_not_served(mine, paid, caplog):
    payment, receipt = paid
    with receipt.pdf.open("wb") as handle:
        handle.write(b"%PDF-1.7 forged amounts")
    with caplog.at_level(logging.ERROR, logger="payments.documents"):
        response = _download(mine, "portal:receipt_pdf", receipt)
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert b"forged" not in response.content and b"%PDF" not in response.content
    assert "cannot be downloaded" in response.content.decode()
    # Logged, with the document's opaque id and nothing about the person.
    (record,) = [r for r in caplog.records if r.name == "payments.documents"]
    message = record.getMessage()
    assert str(receipt.public_id) in message and "SHA-256" in message
    for personal in ("River", PSEUDONYM, LEGAL_NAME, payment.consultant.email):
        assert personal not in message


def test_a_missing_file_is_a_calm_error_too(mine, paid):
    _payment, receipt = paid
    receipt.pdf.storage.delete(receipt.pdf.name)
    response = _download(mine, "portal:receipt_pdf", receipt)
    assert response.status_code == 409
    assert "cannot be downloaded" in response.content.decode()


def test_a_receipt_still_rendering_says_so(mine, paid, finance):
    _payment, original = paid
    replacement = receipt_replace(receipt=original, by=finance, reason="Typo")
    assert "Being prepared" in mine.get(reverse("portal:receipts")).content.decode()
    response = _download(mine, "portal:receipt_pdf", replacement)
    assert response.status_code == 409
    assert b"%PDF" not in response.content


def test_another_consultants_documents_are_not_found(client, outsider, paid):
    payment, receipt = paid
    statement = statement_generate(consultant=payment.consultant, year=receipt.year)
    client.force_login(outsider.user)
    assert _download(client, "portal:receipt_pdf", receipt).status_code == 404
    assert _download(client, "portal:statement_pdf", statement).status_code == 404
    page = client.get(reverse("portal:receipts")).content.decode()
    assert receipt.number not in page


def test_staff_have_no_portal_downloads(client, paid, coordinator, finance):
    _payment, receipt = paid
    for user in (coordinator, finance):
        client.force_login(user)
        assert _download(client, "portal:receipt_pdf", receipt).status_code == 404


def test_asking_for_my_statement_enqueues_it_and_shows_it_being_prepared(
    mine, paid, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    payment, receipt = paid
    year = receipt.year
    url = reverse("portal:statement_prepare")
    with django_capture_on_commit_callbacks(execute=True):
        response = mine.post(url, {"year": str(year)})
    assert response.status_code == 302
    # Enqueued for a worker after commit: no PDF was rendered in the request.
    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "payments.documents.tasks.generate_statement"
    assert task.args_kwargs["args"] == [payment.consultant.pk, year, payment.consultant.user.pk]
    assert not AnnualStatement.objects.exists()
    page = mine.get(reverse("portal:receipts")).content.decode()
    assert "Being prepared" in page
    assert f"Prepare my statement for {year}" not in page
    # Asking again while it is being prepared does not enqueue a twin.
    with django_capture_on_commit_callbacks(execute=True):
        mine.post(url, {"year": str(year)})
    assert DBTaskResult.objects.count() == 1
    # Once the worker has stored the new version, the page offers the download.
    statement = statement_generate(consultant=payment.consultant, year=year)
    page = mine.get(reverse("portal:receipts")).content.decode()
    assert "Being prepared" not in page
    assert reverse("portal:statement_pdf", kwargs={"public_id": statement.public_id}) in page


def test_the_statement_request_runs_in_a_worker_and_the_pdf_downloads(
    mine, paid, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    payment, receipt = paid
    year = receipt.year
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mine.post(reverse("portal:statement_prepare"), {"year": str(year)})
    assert len(callbacks) == 1
    statement = AnnualStatement.objects.get(consultant=payment.consultant, year=year)
    assert statement.version == 1 and statement.generated_by == payment.consultant.user
    page = mine.get(reverse("portal:receipts")).content.decode()
    assert "Being prepared" not in page
    response = _download(mine, "portal:statement_pdf", statement)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="statement-{year}-v1.pdf"'
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(body_of(response))
    assert f"Annual statement {year}" in text
    assert f"For {PSEUDONYM}" in text
    assert receipt.number in text
    assert "$300.00" in text and "$23.40" in text


def test_a_bad_or_future_year_is_refused_calmly(mine, paid, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    for value, says in (
        ("", "Choose a year."),
        ("abc", "Enter a whole number."),
        ("2999", "Choose a year up to"),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = mine.post(reverse("portal:statement_prepare"), {"year": value}, follow=True)
        assert response.status_code == 200
        assert says in response.content.decode()
    assert not DBTaskResult.objects.exists()
    assert "Being prepared" not in mine.get(reverse("portal:receipts")).content.decode()


def test_paying_issues_the_receipt_and_mails_only_opted_in_consultants(
    engagement,
    outsider_engagement,
    coordinator,
    coordinator2,
    finance,
    finance2,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.TASKS = IMMEDIATE
    opted_in = engagement.consultant
    opted_in.email_receipts = True
    for e in (engagement, outsider_engagement):
        e.consultant.payout_method = "check"
        e.consultant.save()
        approved_work(e, logger=coordinator, approver=coordinator2, entries=STANDARD_ENTRIES[:1])
    from datetime import date

    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual

    batch = batch_build(by=finance, cutoff_date=date(2026, 11, 26), today=date(2026, 11, 26))
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    for payment in batch.payments.all():
        with django_capture_on_commit_callbacks(execute=True):
            payment_record_manual(
                payment=payment,
                by=finance,
                reference="1002",
                handed_over_on=date(2026, 11, 20),
                today=date(2026, 11, 26),
            )
    assert Receipt.objects.filter(sha256__gt="").count() == 2
    (message,) = mail.outbox
    assert message.to == [opted_in.email]
    assert message.subject == "A new document is ready"
    assert message.attachments == [] and message.alternatives == []
    for word in ("receipt", "payment", "River", "Sol", "$", "traffick", "survivor"):
        assert word.lower() not in message.subject.lower()
    assert "River" not in message.body and "$" not in message.body
    assert "/accounts/login/" in message.body
