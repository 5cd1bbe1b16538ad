"""Outgoing e-mail over SMTP to a real local server (aiosmtpd), read back from it.

Each e-mail Honora sends is sent the way production sends it (Django's SMTP backend) and
checked as it arrived: who it is to, the neutral sender and subject, a body that links to
SITE_URL, and no personal data or amounts in the subject.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.payments.documents_support import LEGAL_NAME, PSEUDONYM, TIN, paid_with_receipt

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.MULTILINE)


@pytest.fixture
def smtp(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 30
    settings.SITE_URL = "https://honora.example.org"
    return smtp_server


def body(message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def assert_neutral(message, *, names: tuple[str, ...]) -> None:
    subject = message["Subject"]
    assert message["From"] == "Honora <no-reply@honora.invalid>"
    for word in (*names, "$", "traffick", "payment of", "@"):
        assert word.lower() not in subject.lower(), (word, subject)


def test_the_settings_bound_how_long_smtp_may_block():
    from django.conf import settings

    assert settings.EMAIL_TIMEOUT == 10


def test_a_dead_mail_server_is_an_error_not_a_hang(settings):
    from tests.processes import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    with pytest.raises(OSError):
        mail.send_mail("x", "y", None, ["someone@example.org"])


def test_the_sign_in_code_arrives_over_smtp_and_signs_in(client, smtp, consultant_user):
    response = client.post(reverse("account_request_login_code"), {"email": consultant_user.email})
    assert response.status_code == 302
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.envelopes[0] == ("no-reply@honora.invalid", [consultant_user.email])
    assert message["To"] == consultant_user.email
    assert message["Subject"] == "Your sign-in code"
    assert_neutral(message, names=(consultant_user.name,))
    code = CODE.search(body(message)).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert client.session.get("_auth_user_id") == str(consultant_user.pk)


def test_receipt_and_payment_notices_arrive_neutral_with_a_link_to_the_site(
    smtp, engagement, coordinator, coordinator2, finance, finance2
):
    consultant = engagement.consultant
    consultant.email_receipts = True
    consultant.save()
    payment, receipt = paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
        by_task=True,
    )
    from payments.tasks import tell_payment_came_back

    assert tell_payment_came_back.call(payment.pk) is True
    assert [m["Subject"] for m in smtp.messages] == [
        "A new document is ready",
        "An update about your account",
    ]
    private = (LEGAL_NAME, PSEUDONYM, TIN, consultant.display_name, f"{payment.amount:,.2f}")
    for message, (sender, recipients) in zip(smtp.messages, smtp.envelopes, strict=True):
        assert recipients == [consultant.email] and message["To"] == consultant.email
        assert sender == "no-reply@honora.invalid"
        assert_neutral(message, names=private)
        text = body(message)
        assert "https://honora.example.org/accounts/login/" in text
        assert receipt.number not in text and str(payment.public_id) not in text
        for word in private:
            assert word not in text
        assert not message.is_multipart()  # no attachments
