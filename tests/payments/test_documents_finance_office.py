"""Documents a finance office accepts, read back from the real PDFs and the real page.

A receipt long enough to run over several pages still says its number and total on
page 1 and its number on every page; receipts and statements name the payer with its
address and tax id; every page is set in one font family (the page-number footer too);
the public check names the issuer and writes dates as people do.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pypdf
import pytest
from django.urls import reverse

from consultants.models import TaxForm
from payments.documents.models import Receipt
from payments.documents.receipts import (
    receipt_html,
    receipt_issue,
    receipt_render,
    receipt_replace,
)
from payments.documents.rendering import stored_pdf
from payments.documents.statements import statement_generate
from tests.payments.documents_support import LEGAL_NAME, PSEUDONYM
from tests.payments.factories_payouts import approved_work, paid_manual_payment

pytestmark = pytest.mark.django_db

ADDRESS = "77 Ledger Lane, Floor 3\nMadison, WI 53703"
TAX_ID = "98-7654321"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
HUMAN_DATE = re.compile(
    r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4}\b"
)
# The style part of a font's name (WeasyPrint names them DejaVu-Sans-Bold and so on).
STYLE = re.compile(r"([-,](Bold|Oblique|Italic|Book|Regular|Condensed|Light|ExtraLight))+$")
# One hour of work on each of these days: enough lines for a receipt of several pages.
MANY_DAYS = [date(2026, 1, 5) + timedelta(days=3 * n) for n in range(60)]


@pytest.fixture(autouse=True)
def organization(settings):
    settings.ORGANIZATION_NAME = "Ledger Lane Research Trust"
    settings.ORGANIZATION_CONTACT = "accounts@ledger.example.org"
    settings.ORGANIZATION_ADDRESS = ADDRESS
    settings.ORGANIZATION_TAX_ID = TAX_ID


@pytest.fixture
def long_receipt(engagement, coordinator, coordinator2, finance, finance2):
    consultant = engagement.consultant
    consultant.payout_method = "check"
    consultant.save()
    TaxForm.objects.filter(consultant=consultant).update(
        status="received", received_on=date(2026, 1, 5)
    )
    entries = [("hours", "work", day, Decimal("1")) for day in MANY_DAYS]
    entries.append(("reimbursement", "travel", date(2026, 3, 14), Decimal("23.40")))
    approved_work(engagement, logger=coordinator, approver=coordinator2, entries=entries)
    payment = paid_manual_payment(finance=finance, finance2=finance2)
    return receipt_issue(payment_id=payment.pk)


@pytest.fixture
def paid(paid_by_check):
    return paid_by_check


def pages_of(data: bytes) -> list[pypdf.PageObject]:
    assert data.startswith(b"%PDF-"), data[:40]
    return list(pypdf.PdfReader(io.BytesIO(data)).pages)


def font_families(page: pypdf.PageObject) -> set[str]:
    """The family of every font a page draws with, from its resources (and those of the
    forms it draws), without the subset tag and style: ``ABCDEF+DejaVu-Sans-Bold`` is
    ``DejaVu-Sans`` (and a serif fallback would be ``DejaVu-Serif``)."""
    families: set[str] = set()

    def walk(resources, seen):
        if resources is None or id(resources) in seen:
            return
        seen.add(id(resources))
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            name = str(font.get_object()["/BaseFont"]).lstrip("/")
            families.add(STYLE.sub("", name.split("+", 1)[-1]))
        for xobject in (resources.get("/XObject") or {}).values():
            walk(xobject.get_object().get("/Resources"), seen)

    walk(page.get("/Resources"), set())
    return families


def assert_one_font_family(pages) -> None:
    per_page = [font_families(page) for page in pages]
    assert all(per_page), per_page  # every page draws text with some font
    everything = set().union(*per_page)
    assert len(everything) == 1, per_page
    assert everything == {"DejaVu-Sans"}, everything  # not a serif fallback anywhere


def money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def test_a_long_receipt_says_number_and_total_on_page_one_and_its_number_on_every_page(
    long_receipt,
):
    receipt = long_receipt
    assert len(receipt.lines) == len(MANY_DAYS) + 1
    pages = pages_of(stored_pdf(receipt))
    assert len(pages) >= 3, len(pages)
    texts = [page.extract_text() for page in pages]
    total = f"{money(receipt.total)} {receipt.currency}"
    assert receipt.reimbursement_total == Decimal("23.40")
    assert receipt.total == receipt.pay_total + receipt.reimbursement_total
    assert f"Total paid: {total}" in texts[0]
    assert receipt.number in texts[0]
    for n, text in enumerate(texts, start=1):
        assert f"Receipt {receipt.number}" in text, f"page {n} has no receipt number"
        assert "Ledger Lane Research Trust" in text, f"page {n} has no issuer"
        assert f"Page {n} of {len(pages)}" in text
    # The total at the end is still there too, and no item was lost across the pages.
    assert f"Total paid: {total}" in texts[-1]
    assert sum(text.count("1 h × ") for text in texts) == len(MANY_DAYS)
    assert_one_font_family(pages)


def test_a_receipt_names_the_payer_with_address_and_tax_id_and_writes_human_dates(paid):
    _payment, receipt = paid
    pages = pages_of(stored_pdf(receipt))
    text = "\n".join(page.extract_text() for page in pages)
    # The name recorded on the receipt when it was issued, then the address and tax id.
    assert receipt.organization_name == "Ledger Lane Research Trust"
    assert "Payer Ledger Lane Research Trust" in text
    assert "77 Ledger Lane, Floor 3" in text and "Madison, WI 53703" in text
    assert f"Tax ID {TAX_ID}" in text
    assert "accounts@ledger.example.org" in text
    assert f"Paid to {LEGAL_NAME}" in text
    # Dates as people write them: the items, the day paid and the day issued; no ISO.
    assert "12 March 2026" in text and "14 March 2026" in text
    assert receipt.paid_on.strftime("%-d %B %Y") in text
    assert not ISO_DATE.search(text), ISO_DATE.findall(text)
    assert_one_font_family(pages)


def test_without_a_tax_id_the_receipt_leaves_the_line_off(paid, settings, finance):
    settings.ORGANIZATION_TAX_ID = ""
    _payment, original = paid
    replacement = receipt_replace(receipt=original, by=finance, reason="Reference corrected")
    text = "\n".join(
        p.extract_text() for p in pages_of(stored_pdf(receipt_render(receipt_id=replacement.pk)))
    )
    assert "Tax ID" not in text
    assert "77 Ledger Lane, Floor 3" in text


def test_a_receipt_keeps_the_payer_it_was_issued_with_when_the_settings_change(paid, settings):
    """The organisation moves after the receipt is issued: drawing the receipt again (as a
    lost file would be redrawn) still prints the address and tax id it was issued with."""
    _payment, receipt = paid
    assert receipt.organization_tax_id == TAX_ID
    assert "77 Ledger Lane, Floor 3" in receipt.organization_address
    settings.ORGANIZATION_ADDRESS = "1 New Street\nElsewhere, CA 90001"
    settings.ORGANIZATION_TAX_ID = "45-6789012"
    html = receipt_html(Receipt.objects.get(pk=receipt.pk))
    assert "77 Ledger Lane, Floor 3" in html and f"Tax ID {TAX_ID}" in html
    assert "1 New Street" not in html and "45-6789012" not in html


def test_the_annual_statement_names_the_paying_organisation_in_one_font(paid):
    payment, receipt = paid
    year = payment.paid_at.year
    statement = statement_generate(
        consultant=payment.consultant, year=year, by=payment.consultant.user
    )
    pages = pages_of(stored_pdf(statement))
    texts = [page.extract_text() for page in pages]
    text = "\n".join(texts)
    assert "Payer Ledger Lane Research Trust" in text
    assert "77 Ledger Lane, Floor 3" in text and "Madison, WI 53703" in text
    assert f"Tax ID {TAX_ID}" in text
    for n, page_text in enumerate(texts, start=1):
        assert f"Annual statement {year}" in page_text
        assert "Ledger Lane Research Trust" in page_text
        assert f"Page {n} of {len(pages)}" in page_text
    assert receipt.number in text
    assert receipt.paid_on.strftime("%-d %B %Y") in text
    assert not ISO_DATE.search(text), ISO_DATE.findall(text)
    assert_one_font_family(pages)


def test_the_verify_page_names_the_issuer_with_human_dates_and_nobody_else(client, paid):
    payment, receipt = paid
    response = client.get(reverse("receipt_verify", kwargs={"code": receipt.verification_code}))
    assert response.status_code == 200
    text = response.content.decode()
    # The check itself: from its heading to its closing note (whatever the site around it).
    main = text[text.index("Receipt check</h1>") : text.index("It does not say who was paid")]
    assert "Ledger Lane Research Trust" in main
    assert receipt.paid_on.strftime("%-d %B %Y") in main
    assert HUMAN_DATE.search(main)
    assert not ISO_DATE.search(main), ISO_DATE.findall(main)
    # Still nothing about who was paid, and nothing the public has no need of.
    consultant = payment.consultant
    for private in (consultant.display_name, PSEUDONYM, LEGAL_NAME, consultant.email):
        assert private not in text
    for not_needed in ("77 Ledger Lane", TAX_ID, "accounts@ledger.example.org"):
        assert not_needed not in text
