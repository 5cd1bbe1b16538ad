"""Short, neutral e-mails: a subject and sender that say nothing about the work,
no personal data, no attachments, only a link to sign in."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from payments.documents.models import Receipt
from payments.models import Payment


def _sign_in_url() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/") + "/accounts/login/"


def _send(consultant, subject: str, body: str) -> bool:
    # subject and body are msgids (marked with gettext_noop so makemessages finds them),
    # translated here in the consultant's language.
    if not consultant.email:
        return False
    with translation.override(consultant.preferred_language or "en"):
        send_mail(
            subject=_(subject),
            message=_(body) + "\n\n" + _sign_in_url() + "\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[consultant.email],
        )
    return True


def receipt_ready(receipt_id: int) -> bool:
    receipt = Receipt.objects.select_related("consultant").get(pk=receipt_id)
    if not receipt.consultant.email_receipts:
        return False
    return _send(
        receipt.consultant,
        gettext_noop("A new document is ready"),
        gettext_noop("A new document is available in your account. Sign in to see it:"),
    )


def payment_came_back(payment_id: int) -> bool:
    """Tell the consultant, neutrally, that a payment will be made again."""
    payment = Payment.objects.select_related("consultant").get(pk=payment_id)
    if not payment.consultant.email_receipts:
        return False
    return _send(
        payment.consultant,
        gettext_noop("An update about your account"),
        gettext_noop("There is an update about a payment in your account. Sign in to see it:"),
    )
