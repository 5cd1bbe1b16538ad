"""What receipts and statements share: the payee's name, the verification link and
its QR code, PDF rendering, and serving a stored PDF only as it was issued."""

from __future__ import annotations

import base64
import hashlib
import io
import logging

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.utils.translation import gettext as _

from consultants.models import ReceiptName
from core.errors import StateConflict
from payments.documents.models import Receipt

log = logging.getLogger("payments.documents")


class TamperedDocument(Exception):
    """A stored document no longer matches the hash recorded when it was issued."""


class DocumentUnavailable(StateConflict):
    """A stored document cannot be served as issued (altered or missing): nothing is sent."""

    code = "document_unavailable"


def site_url() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def verification_url(code: str) -> str:
    return f"{site_url()}/verify/{code}/"


def payee_name(consultant) -> str:
    """The consultant's name the way they chose to be named on receipts."""
    if consultant.receipt_name == ReceiptName.LEGAL_NAME:
        vault = getattr(consultant, "vault", None)
        if vault is not None and vault.legal_name:
            return vault.legal_name
    if consultant.receipt_name == ReceiptName.PSEUDONYM and consultant.pseudonym:
        return consultant.pseudonym
    return consultant.display_name


def organization(
    *,
    name: str | None = None,
    contact: str | None = None,
    address: str | None = None,
    tax_id: str | None = None,
) -> dict:
    """The paying organisation as documents print it: name, address lines, tax id and
    contact. A receipt passes what it recorded when it was issued, so a later change of
    the settings never changes what an issued receipt says."""
    address = settings.ORGANIZATION_ADDRESS if address is None else address
    return {
        "name": settings.ORGANIZATION_NAME if name is None else name,
        "address_lines": [line for line in address.splitlines() if line],
        "tax_id": settings.ORGANIZATION_TAX_ID if tax_id is None else tax_id,
        "contact": settings.ORGANIZATION_CONTACT if contact is None else contact,
    }


def qr_svg_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_pdf(html: str) -> bytes:
    # Imported when a PDF is made: WeasyPrint is heavy and pages never need it.
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def stored_pdf(document) -> bytes:
    """The stored bytes of a receipt or statement, checked against their SHA-256."""
    if not document.sha256 or not document.pdf:
        raise StateConflict(
            _("This document is still being prepared. Try again in a moment."), code="not_ready"
        )
    # From the storage itself, not the field's cached file: always what is stored now.
    with document.pdf.storage.open(document.pdf.name, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise TamperedDocument(
            f"{type(document).__name__} {document.pk} does not match its SHA-256"
        )
    return data


def document_pdf(document) -> bytes:
    """``stored_pdf`` for a download: an altered or lost file is logged and refused.

    The log names the kind of document and its opaque id only, never who it is about.
    Raises ``StateConflict`` (code ``not_ready``) while the PDF is being rendered.
    """
    kind = type(document).__name__
    try:
        return stored_pdf(document)
    except TamperedDocument:
        log.error(
            "%s %s: stored file does not match its SHA-256; not served", kind, document.public_id
        )
    except OSError:
        log.error("%s %s: stored file cannot be read; not served", kind, document.public_id)
    raise DocumentUnavailable(
        _(
            "This document cannot be downloaded right now. The problem has been recorded; "
            "please contact the finance team."
        )
    )


def document_filename(document) -> str:
    """A neutral download name: the receipt number, or the statement's year and version."""
    if isinstance(document, Receipt):
        return f"{document.number}.pdf"
    return f"statement-{document.year}-v{document.version}.pdf"
