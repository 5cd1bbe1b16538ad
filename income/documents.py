"""The income letter as a PDF: drawn from what the letter copied when it was issued, in the
language it was issued in, so the same letter always says the same thing."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.money import format_money
from income.models import IncomeLetter
from payments.documents.rendering import (
    organization,
    qr_svg_data_uri,
    render_pdf,
    verification_url,
)


def letter_rows(letter: IncomeLetter) -> list[dict]:
    rows = []
    for m in letter.months:
        year, month = (int(part) for part in m["month"].split("-"))
        rows.append(
            {
                "month": date(year, month, 1),
                "income": Decimal(m["income"]),
                "reimbursements": Decimal(m["reimbursements"]),
            }
        )
    return rows


def letter_pdf(letter: IncomeLetter) -> bytes:
    url = verification_url(letter.verification_code)
    with translation.override(letter.language):
        rows = letter_rows(letter)
        html = render_to_string(
            "pdf/income_letter.html",
            {
                "letter": letter,
                "organization": organization(
                    name=letter.organization_name,
                    address=letter.organization_address,
                    tax_id=letter.organization_tax_id,
                    contact="",
                ),
                "rows": [{**row, "income_text": format_money(row["income"])} for row in rows],
                "reimbursement_rows": [
                    {**row, "amount_text": format_money(row["reimbursements"])}
                    for row in rows
                    if row["reimbursements"]
                ],
                "income_total": format_money(letter.income_total),
                "reimbursements_total": format_money(letter.reimbursements_total),
                "issued_on": timezone.localdate(letter.issued_at),
                "verify_url": url,
                "qr": qr_svg_data_uri(url),
            },
        )
    return render_pdf(html)


def letter_render(*, letter_id: int) -> IncomeLetter:
    """Render and store a letter's PDF once (a worker's job); a rendered letter stays as it is."""
    letter = IncomeLetter.objects.get(pk=letter_id)
    if letter.is_rendered:
        return letter
    pdf = letter_pdf(letter)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        locked = IncomeLetter.objects.select_for_update().get(pk=letter_id)
        if locked.is_rendered:  # another worker finished first
            return locked
        locked.pdf.save(f"{locked.number}.pdf", ContentFile(pdf), save=False)
        locked.sha256 = digest
        locked.rendered_at = timezone.now()
        locked.save(update_fields=["pdf", "sha256", "rendered_at"])
    return locked


def letter_filename(letter: IncomeLetter) -> str:
    return f"{letter.number}.pdf"
