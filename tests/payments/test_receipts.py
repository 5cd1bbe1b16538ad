"""Receipts: numbered without gaps, stored once with their hash, read back as real PDFs."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from django.core import mail

from consultants.models import TaxForm
from consultants.services import vault_update
from core.errors import NotAllowed, ValidationFailed
from payments.documents.models import Receipt
from payments.documents.receipts import (
    receipt_issue,
    receipt_render,
    receipt_replace,
    receipt_verify,
)
from payments.documents.rendering import TamperedDocument, stored_pdf
from tests.payments.factories_payouts import STANDARD_ENTRIES, approved_work, paid_manual_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(engagement, coordinator, coordinator2, finance, finance2):
    engagement.consultant.payout_method = "check"
    engagement.consultant.save()
    TaxForm.objects.filter(consultant=engagement.consultant).update(
        status="received", received_on=date(2026, 1, 5)
    )
    approved_work(engagement, logger=coordinator, approver=coordinator2, entries=STANDARD_ENTRIES)
    return paid_manual_payment(finance=finance, finance2=finance2)


def text_of(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_paid_payment_gets_a_numbered_receipt_whose_pdf_says_what_the_database_says(paid):
    receipt = receipt_issue(payment_id=paid.pk)
    assert receipt.number == f"R-{receipt.year}-000001"
    text = text_of(stored_pdf(receipt))
    assert receipt.number in text
    assert "Paid to River" in text
    assert "Research consulting" in text
    assert "Honora Demo Research Collaborative" in text
    # Every item, with hours times rate, and reimbursements apart from pay.
    assert "2.5 h × $60.00" in text and "$150.00" in text
    assert "1 × honorarium of $150.00" in text
    assert "Reimbursements (not pay)" in text and "$23.40" in text
    assert "Pay total" in text and "$300.00" in text
    assert "Total paid: $323.40 USD" in text
    assert "Check · reference 1001" in text
    assert receipt.verification_code in text
    assert receipt.total == paid.amount == Decimal("323.40")
    assert receipt.pay_total == Decimal("300.00") and receipt.reimbursement_total == Decimal(
        "23.40"
    )


def test_issuing_twice_gives_the_same_receipt(paid):
    first = receipt_issue(payment_id=paid.pk)
    second = receipt_issue(payment_id=paid.pk)
    assert first.pk == second.pk
    assert Receipt.objects.count() == 1


def test_numbers_have_no_gaps_across_payments(
    engagement, outsider_engagement, coordinator, coordinator2, finance, finance2
):
    for e in (engagement, outsider_engagement):
        e.consultant.payout_method = "cash"
        e.consultant.save()
        approved_work(e, logger=coordinator, approver=coordinator2, entries=STANDARD_ENTRIES[:1])
    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual

    batch = batch_build(by=finance, cutoff_date=date(2026, 11, 26), today=date(2026, 11, 26))
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    numbers = []
    for payment in batch.payments.order_by("id"):
        payment_record_manual(
            payment=payment,
            by=finance,
            reference="E-1",
            handed_over_on=date(2026, 11, 20),
            today=date(2026, 11, 26),
        )
        numbers.append(receipt_issue(payment_id=payment.pk).sequence)
    assert numbers == [1, 2]


def test_the_name_is_the_one_the_consultant_chose(paid, finance):
    consultant = paid.consultant
    vault_update(consultant=consultant, by=finance, reason="", legal_name="Rivera Example")
    consultant.receipt_name = "legal_name"
    consultant.save()
    receipt = receipt_issue(payment_id=paid.pk)
    assert receipt.payee_name == "Rivera Example"
    assert "Paid to Rivera Example" in text_of(stored_pdf(receipt))


def test_a_tampered_file_is_detected(paid):
    receipt = receipt_issue(payment_id=paid.pk)
    with receipt.pdf.open("wb") as handle:
        handle.write(b"%PDF-1.7 forged")
    with pytest.raises(TamperedDocument):
        stored_pdf(Receipt.objects.get(pk=receipt.pk))


def test_a_replacement_refers_to_the_original_which_stays_available(paid, finance, coordinator):
    original = receipt_issue(payment_id=paid.pk)
    with pytest.raises(NotAllowed):
        receipt_replace(receipt=original, by=coordinator, reason="typo")
    with pytest.raises(ValidationFailed):
        receipt_replace(receipt=original, by=finance, reason="")
    paid.consultant.pseudonym = "R. M."
    paid.consultant.receipt_name = "pseudonym"
    paid.consultant.save()
    replacement = receipt_replace(
        receipt=original, by=finance, reason="Consultant asked for their pseudonym"
    )
    replacement = receipt_render(receipt_id=replacement.pk)
    text = text_of(stored_pdf(replacement))
    assert f"This receipt replaces receipt {original.number}" in text
    assert "Paid to R. M." in text
    assert replacement.sequence == original.sequence + 1
    # The original is still there, unchanged, and marked replaced.
    assert text_of(stored_pdf(Receipt.objects.get(pk=original.pk))).count("Paid to River") == 1
    check = receipt_verify(original.verification_code)
    assert check.status == "replaced" and check.replaced_by == replacement.number


def test_verification_confirms_without_naming_anyone(paid):
    receipt = receipt_issue(payment_id=paid.pk)
    check = receipt_verify(receipt.verification_code.lower())
    assert (check.number, check.total, check.status) == (receipt.number, "323.40", "valid")
    assert "River" not in repr(check)
    assert receipt_verify("NOPE") is None
    assert receipt_verify("") is None
    assert receipt_verify("<script>") is None


def test_opted_in_consultants_get_a_neutral_email_without_attachment(paid):
    paid.consultant.email_receipts = True
    paid.consultant.save()
    receipt_issue(payment_id=paid.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "A new document is ready"
    assert message.attachments == []
    assert "River" not in message.subject + message.body
    assert "/accounts/login/" in message.body
    assert message.to == [paid.consultant.email]


def test_no_email_without_opt_in(paid):
    receipt_issue(payment_id=paid.pk)
    assert mail.outbox == []


def test_paying_enqueues_the_receipt_after_commit(
    engagement,
    coordinator,
    coordinator2,
    finance,
    finance2,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    engagement.consultant.payout_method = "check"
    engagement.consultant.save()
    approved_work(
        engagement, logger=coordinator, approver=coordinator2, entries=STANDARD_ENTRIES[:1]
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment = paid_manual_payment(finance=finance, finance2=finance2)
    receipt = Receipt.objects.get(payment=payment)
    assert receipt.is_rendered


def test_a_download_of_an_altered_or_lost_file_is_refused_and_logged(paid, caplog):
    import logging

    from payments.documents.rendering import DocumentUnavailable, document_pdf

    receipt = receipt_issue(payment_id=paid.pk)
    assert document_pdf(receipt) == stored_pdf(receipt)
    with receipt.pdf.open("wb") as handle:
        handle.write(b"%PDF-1.7 forged")
    with (
        caplog.at_level(logging.ERROR, logger="payments.documents"),
        pytest.raises(DocumentUnavailable) as refused,
    ):
        document_pdf(Receipt.objects.get(pk=receipt.pk))
    assert refused.value.status == 409 and refused.value.code == "document_unavailable"
    assert str(receipt.public_id) in caplog.text and "River" not in caplog.text
    receipt.pdf.storage.delete(receipt.pdf.name)
    with pytest.raises(DocumentUnavailable):
        document_pdf(Receipt.objects.get(pk=receipt.pk))


def test_an_unrendered_receipt_is_not_ready(paid, finance):
    from core.errors import StateConflict
    from payments.documents.rendering import document_pdf

    original = receipt_issue(payment_id=paid.pk)
    replacement = receipt_replace(receipt=original, by=finance, reason="Typo")
    with pytest.raises(StateConflict) as waiting:
        document_pdf(replacement)
    assert waiting.value.code == "not_ready"


def test_status_is_valid_replaced_or_void(paid, finance, finance2):
    from payments.documents.receipts import receipt_status
    from payments.services.finance import payment_mark_returned

    original = receipt_issue(payment_id=paid.pk)
    assert receipt_status(original) == "valid"
    replacement = receipt_replace(receipt=original, by=finance, reason="Typo")
    assert receipt_status(Receipt.objects.get(pk=original.pk)) == "replaced"
    assert receipt_status(replacement) == "valid"
    # A paid payment is never voided: the check came back (recorded by a second person).
    payment_mark_returned(payment=paid, by=finance2, reason="The check came back uncashed")
    assert receipt_status(Receipt.objects.get(pk=replacement.pk)) == "void"
    assert receipt_verify(replacement.verification_code).status == "void"
    assert receipt_verify(original.verification_code).status == "replaced"


def test_download_names_are_neutral(paid):
    from payments.documents.rendering import document_filename
    from payments.documents.statements import statement_generate

    receipt = receipt_issue(payment_id=paid.pk)
    assert document_filename(receipt) == f"{receipt.number}.pdf"
    statement = statement_generate(consultant=paid.consultant, year=receipt.year)
    assert document_filename(statement) == f"statement-{receipt.year}-v1.pdf"


def test_the_stored_pdf_is_encrypted_at_rest_and_verified_when_read(paid, settings):
    receipt = receipt_issue(payment_id=paid.pk)
    raw = (settings.MEDIA_ROOT / receipt.pdf.name).read_bytes()
    assert not raw.startswith(b"%PDF") and b"Rivera" not in raw
    data = stored_pdf(Receipt.objects.get(pk=receipt.pk))
    assert data.startswith(b"%PDF")
