"""Receipts, statements and e-mails in the consultant's language.

Month names come from Django's own Spanish catalog, so a Spanish PDF is recognisable
before Honora's catalog lands; e-mails are checked by the language they are built in.
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from core.errors import ValidationFailed
from payments.documents import notifications
from payments.documents.models import Receipt
from payments.documents.receipts import receipt_render, receipt_replace
from payments.documents.rendering import stored_pdf
from payments.documents.statements import statement_generate

pytestmark = pytest.mark.django_db

SPANISH_DATE = re.compile(r"\d{1,2} de (marzo|noviembre) de 2026")
ENGLISH_DATE = re.compile(r"\d{1,2} (March|November) 2026")


def _text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def spanish_reader(engagement):
    consultant = engagement.consultant
    consultant.preferred_language = "es"
    consultant.save()
    return consultant


@pytest.fixture
def paid_es(spanish_reader, paid_by_check):
    return paid_by_check


def test_a_receipt_for_a_spanish_reader_is_issued_and_rendered_in_spanish(paid_es):
    _payment, receipt = paid_es
    assert receipt.language == "es"
    text = _text(stored_pdf(receipt))
    assert SPANISH_DATE.search(text), text[:400]
    assert not ENGLISH_DATE.search(text)
    assert "$" in text and re.search(r"\$\d{1,3}(,\d{3})*\.\d{2}", text)  # es-US money


def test_a_receipt_for_an_english_reader_stays_english(paid_by_check):
    _payment, receipt = paid_by_check
    assert receipt.language == "en"
    text = _text(stored_pdf(receipt))
    assert ENGLISH_DATE.search(text) and not SPANISH_DATE.search(text)


def test_the_language_is_the_receipts_not_the_request_that_renders_it(paid_es):
    """A worker (or a finance officer browsing in English) renders it in its language."""
    _payment, receipt = paid_es
    with translation.override("en"):
        new = receipt_replace(receipt=receipt, by=_finance(), reason="Typo")
        receipt_render(receipt_id=new.pk)
    new.refresh_from_db()
    assert new.language == "es"
    assert SPANISH_DATE.search(_text(stored_pdf(new)))


def test_a_replacement_takes_the_language_finance_asks_for(paid_es):
    _payment, receipt = paid_es
    new = receipt_replace(
        receipt=receipt, by=_finance(), reason="In English, please", language="en"
    )
    receipt_render(receipt_id=new.pk)
    new.refresh_from_db()
    assert new.language == "en"
    text = _text(stored_pdf(new))
    assert ENGLISH_DATE.search(text) and not SPANISH_DATE.search(text)
    # The original stays as it was issued.
    assert Receipt.objects.get(pk=receipt.pk).language == "es"


def test_a_replacement_refuses_a_language_honora_does_not_offer(paid_es):
    _payment, receipt = paid_es
    with pytest.raises(ValidationFailed):
        receipt_replace(receipt=receipt, by=_finance(), reason="x", language="fr")


def test_a_statement_for_a_spanish_reader_is_in_spanish(paid_es):
    payment, _receipt = paid_es
    statement = statement_generate(
        consultant=payment.consultant, year=payment.paid_at.year, by=payment.consultant.user
    )
    assert statement.language == "es"
    text = _text(stored_pdf(statement))
    assert SPANISH_DATE.search(text) and not ENGLISH_DATE.search(text)
    assert "noviembre" in text  # the month table too


def test_the_receipt_e_mail_is_built_in_the_consultants_language(paid_es, monkeypatch):
    payment, receipt = paid_es
    consultant = payment.consultant
    consultant.email, consultant.email_receipts = "river@example.org", True
    consultant.save()
    languages = []
    real = notifications.send_mail

    def spy(**kwargs):
        languages.append(translation.get_language())
        return real(**kwargs)

    monkeypatch.setattr(notifications, "send_mail", spy)
    mail.outbox.clear()
    with translation.override("en"):  # whatever the sender's language
        assert notifications.receipt_ready(receipt.pk)
    assert languages == ["es"]
    assert mail.outbox[-1].to == ["river@example.org"]
    assert consultant.display_name not in mail.outbox[-1].subject  # still neutral


def test_a_sign_in_code_goes_in_the_consultants_language(client, spanish_reader, monkeypatch):
    from allauth.account.adapter import DefaultAccountAdapter

    languages = []
    real = DefaultAccountAdapter.render_mail

    def spy(self, template_prefix, email, context, headers=None):
        languages.append((template_prefix, translation.get_language()))
        return real(self, template_prefix, email, context, headers)

    monkeypatch.setattr(DefaultAccountAdapter, "render_mail", spy)
    client.post(
        reverse("account_request_login_code"),
        {"email": spanish_reader.user.email},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert languages and all(lang == "es" for _prefix, lang in languages), languages


def test_anyone_else_gets_the_e_mail_in_the_pages_language(client, monkeypatch):
    from allauth.account.adapter import DefaultAccountAdapter

    languages = []
    real = DefaultAccountAdapter.render_mail

    def spy(self, template_prefix, email, context, headers=None):
        languages.append(translation.get_language())
        return real(self, template_prefix, email, context, headers)

    monkeypatch.setattr(DefaultAccountAdapter, "render_mail", spy)
    client.post(
        reverse("account_request_login_code"),
        {"email": "nobody@example.org"},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert languages in ([], ["es"])  # allauth may stay silent for unknown addresses


def _finance():
    from accounts.models import User

    return User.objects.get(email="finance@example.org")


def test_a_receipts_language_is_never_edited_even_in_sql(paid_es):
    """The database guard (migration 0005, put back with the new column in 0012)."""
    from django.db import IntegrityError, connection, transaction

    _payment, receipt = paid_es
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payments_receipt SET language = 'en' WHERE id = %s", [receipt.pk])
    assert Receipt.objects.get(pk=receipt.pk).language == "es"
