"""Issuing, rendering, storing, verifying and replacing receipts.

Issuing allocates the next number of the year under a row lock (short
transaction, no gaps); rendering happens outside any transaction (slow work)
and stores the PDF once, with its SHA-256. Serving reads the stored bytes back
and refuses them if they no longer match their hash.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.money import format_money, plain_amount
from core.tasks import enqueue_on_commit
from engagements.models import Contribution
from payments.documents.models import Receipt, ReceiptCounter
from payments.documents.notifications import receipt_ready
from payments.documents.rendering import (
    organization,
    payee_name,
    qr_svg_data_uri,
    render_pdf,
    verification_url,
)
from payments.models import Payment

ZERO = Decimal("0.00")
DESCRIPTION = gettext_noop("Research consulting")  # written in the receipt's language

log = logging.getLogger("payments.documents")


# --- what a receipt says ------------------------------------------------------------


def _line(item) -> dict:
    c = item.contribution
    kind = c.kind
    if kind == Contribution.Kind.HOURS:
        what = _("%(hours)s h × %(rate)s") % {
            "hours": _plain(c.quantity),
            "rate": format_money(c.rate),
        }
    elif kind == Contribution.Kind.HONORARIUM:
        what = _("%(count)s × honorarium of %(rate)s") % {
            "count": _plain(c.quantity),
            "rate": format_money(c.rate),
        }
    else:
        what = c.description or _("Reimbursement")
    return {
        "phase": c.engagement.phase.name,
        "activity": c.get_activity_display(),
        "date": c.date.isoformat(),
        "kind": kind,
        "detail": str(what),
        "adjustment": c.adjusts_id is not None,
        "amount": str(item.amount),
    }


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- issuing ---------------------------------------------------------------------------


def _next_number(year: int) -> int:
    counter, _created = ReceiptCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def receipt_language(consultant, *, replaces: Receipt | None = None) -> str:
    """The language a new receipt is written in: a replacement keeps its original's; a
    first receipt takes the consultant's preferred language."""
    if replaces is not None:
        return replaces.language
    language = consultant.preferred_language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _create_receipt(
    payment: Payment,
    *,
    by=None,
    replaces: Receipt | None = None,
    reason: str = "",
    language: str | None = None,
) -> Receipt:
    language = language or receipt_language(payment.consultant, replaces=replaces)
    # What the receipt states in words (its lines, the method) is written in its language.
    with translation.override(language):
        return _write_receipt(payment, by=by, replaces=replaces, reason=reason, language=language)


def _write_receipt(
    payment: Payment, *, by, replaces: Receipt | None, reason: str, language: str
) -> Receipt:
    items = list(
        payment.items.filter(live=True)
        .select_related("contribution__engagement__phase")
        .order_by("contribution__date", "contribution_id")
    )
    lines = [_line(i) for i in items]
    pay = sum(
        (i.amount for i in items if i.contribution.kind != Contribution.Kind.REIMBURSEMENT), ZERO
    )
    reimbursed = sum(
        (i.amount for i in items if i.contribution.kind == Contribution.Kind.REIMBURSEMENT), ZERO
    )
    paid_on = timezone.localdate(payment.paid_at)
    year = paid_on.year
    sequence = _next_number(year)
    return Receipt.objects.create(
        payment=payment,
        consultant=payment.consultant,
        year=year,
        sequence=sequence,
        number=f"R-{year}-{sequence:06d}",
        replaces=replaces,
        reason=reason,
        payee_name=payee_name(payment.consultant),
        organization_name=settings.ORGANIZATION_NAME,
        organization_contact=settings.ORGANIZATION_CONTACT,
        organization_address=settings.ORGANIZATION_ADDRESS,
        organization_tax_id=settings.ORGANIZATION_TAX_ID,
        description=_(DESCRIPTION),
        method=payment.get_method_display(),
        reference=payment.reference or payment.transfer_id,
        paid_on=paid_on,
        total=payment.amount,
        pay_total=pay,
        reimbursement_total=reimbursed,
        currency=payment.currency,
        lines=lines,
        language=language,
        issued_by=by,
    )


def current_receipt(payment) -> Receipt | None:
    """The receipt in force for a payment: the one nothing replaced."""
    return payment.receipts.filter(replaced_by__isnull=True).order_by("-sequence").first()


def receipt_issue(*, payment_id: int) -> Receipt | None:
    """Give a paid payment its receipt (once); safe to call again and concurrently."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update().select_related("consultant").get(pk=payment_id)
        )
        if payment.status != Payment.Status.PAID:
            return None
        receipt = current_receipt(payment) or _create_receipt(payment)
    receipt_render(receipt_id=receipt.pk)
    return Receipt.objects.get(pk=receipt.pk)


@transaction.atomic
def receipt_replace(*, receipt: Receipt, by, reason: str, language: str | None = None) -> Receipt:
    """Issue a corrected receipt that refers to ``receipt``, which stays available.

    It is written in the original's language unless ``language`` (one of
    settings.LANGUAGES) asks for another.
    """
    if not by.has_perm("payments.access_finance"):
        raise NotAllowed(_("Only finance can replace receipts."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the receipt is replaced."), field="reason")
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationFailed(_("Choose a language Honora offers."), field="language")
    old = Receipt.objects.select_for_update().get(pk=receipt.pk)
    if Receipt.objects.filter(replaces=old).exists():
        raise StateConflict(_("This receipt was already replaced."))
    payment = (
        Payment.objects.select_for_update().select_related("consultant").get(pk=old.payment_id)
    )
    if payment.status != Payment.Status.PAID:
        raise StateConflict(_("Only a paid payment's receipt can be replaced."))
    new = _create_receipt(payment, by=by, replaces=old, reason=reason, language=language or None)
    enqueue_on_commit("payments.documents.tasks.render_receipt", new.pk)
    return new


# --- rendering -------------------------------------------------------------------------------


def receipt_html(receipt: Receipt) -> str:
    """The receipt as HTML, in the language it was issued in (whoever renders it)."""
    with translation.override(receipt.language or settings.LANGUAGE_CODE):
        return _receipt_html(receipt)


def _receipt_html(receipt: Receipt) -> str:
    url = verification_url(receipt.verification_code)
    # The stored lines keep ISO dates (data); the document writes them for people.
    lines = [
        dict(line, day=date.fromisoformat(line["date"]), amount_text=format_money(line["amount"]))
        for line in receipt.lines
    ]
    return render_to_string(
        "pdf/receipt.html",
        {
            "receipt": receipt,
            "replaces": receipt.replaces,
            "organization": organization(
                name=receipt.organization_name,
                contact=receipt.organization_contact,
                address=receipt.organization_address,
                tax_id=receipt.organization_tax_id,
            ),
            "pay_lines": [line for line in lines if line["kind"] != "reimbursement"],
            "reimbursement_lines": [line for line in lines if line["kind"] == "reimbursement"],
            "total": format_money(receipt.total),
            "pay_total": format_money(receipt.pay_total),
            "reimbursement_total": format_money(receipt.reimbursement_total),
            "verify_url": url,
            "qr": qr_svg_data_uri(url),
        },
    )


def receipt_render(*, receipt_id: int) -> Receipt:
    """Render and store a receipt's PDF once; a rendered receipt is left as it is."""
    receipt = Receipt.objects.select_related("replaces").get(pk=receipt_id)
    if receipt.is_rendered:
        return receipt
    pdf = render_pdf(receipt_html(receipt))
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        locked = Receipt.objects.select_for_update().get(pk=receipt_id)
        if locked.is_rendered:  # another worker finished first
            return locked
        locked.pdf.save(f"{locked.number}.pdf", ContentFile(pdf), save=False)
        locked.sha256 = digest
        locked.rendered_at = timezone.now()
        locked.save(update_fields=["pdf", "sha256", "rendered_at"])
    # Outside the transaction: the e-mail goes only once the PDF is stored.
    receipt_ready(receipt_id)
    return locked


# --- the receipt's standing ---------------------------------------------------------------


RECEIPT_STATUSES = ("valid", "replaced", "void")


def receipt_status(receipt: Receipt) -> str:
    """``replaced`` once a later receipt replaces it; ``void`` once the money it proves
    did not arrive after all (the payment was voided, or came back); else ``valid``."""
    if getattr(receipt, "replaced_by", None) is not None:
        return "replaced"
    if receipt.payment.status in (Payment.Status.VOIDED, Payment.Status.RETURNED):
        return "void"
    return "valid"


# --- the public check ---------------------------------------------------------------------------


@dataclass
class Verification:
    number: str
    issued_on: date
    paid_on: date
    total: str
    currency: str
    status: str  # "valid", "replaced" or "void"
    replaced_by: str | None
    # The organisation that issued the receipt, as the receipt names it (not in the API).
    issuer: str = ""


def receipt_verify(code: str) -> Verification | None:
    """What the public may know about a receipt: never who was paid."""
    code = (code or "").strip().upper()
    if (
        not code
        or len(code) > 16
        or any(ch not in "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" for ch in code)
    ):
        return None
    receipt = (
        Receipt.objects.filter(verification_code=code)
        .select_related("replaced_by", "payment")
        .first()
    )
    if receipt is None:
        return None
    replacement = getattr(receipt, "replaced_by", None)
    return Verification(
        number=receipt.number,
        issued_on=timezone.localdate(receipt.issued_at),
        paid_on=receipt.paid_on,
        total=plain_amount(receipt.total),
        currency=receipt.currency,
        status=receipt_status(receipt),
        replaced_by=replacement.number if replacement else None,
        issuer=receipt.organization_name,
    )
