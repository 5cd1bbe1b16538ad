"""The income letter: monthly sums read back from the PDF, reimbursements apart, in the
consultant's language, one font; checked anonymously by its code, never naming anyone."""

from __future__ import annotations

import io
from decimal import Decimal

import pypdf
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from core.errors import NotAllowed, ValidationFailed
from income.documents import letter_pdf, letter_render
from income.models import IncomeLetter
from income.schedule import add_months, month_start
from income.services import income_letter_issue
from tests.payments.test_documents_finance_office import assert_one_font_family

pytestmark = pytest.mark.django_db


def _text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def _issue(consultant, months_back=2):
    this_month = month_start(timezone.localdate())
    return income_letter_issue(
        consultant=consultant,
        by=consultant.user,
        first_month=add_months(this_month, -months_back),
        last_month=this_month,
    )


def test_the_letter_states_the_monthly_income_and_reimbursements_apart(engagement, paid_month):
    hours, _refund = paid_month
    letter = _issue(engagement.consultant)
    assert letter.number.startswith("L-") and len(letter.months) == 3
    assert letter.months[-1]["income"] == str(hours.amount)
    assert letter.months[-1]["reimbursements"] == "23.40"
    assert letter.income_total == hours.amount
    assert letter.reimbursements_total == Decimal("23.40")
    data = letter_pdf(letter)
    text = _text(data)
    assert letter.number in text and letter.verification_code in text
    assert "Payments by month (income)" in text
    assert "Reimbursements (not income)" in text
    assert f"${hours.amount:,.2f}" in text and "$23.40" in text
    assert "Total income in the period" in text
    assert "no advice about public benefits" in text
    assert "Honora Demo Research Collaborative" in text and "00-0000000" in text
    assert "Jordan Example" in text and "Finance Director" in text
    assert f"/verify/{letter.verification_code}/" in text.replace("\n", "")
    assert_one_font_family(pypdf.PdfReader(io.BytesIO(data)).pages)


def test_a_spanish_consultant_gets_the_letter_in_spanish(engagement, paid_month):
    consultant = engagement.consultant
    consultant.preferred_language = "es"
    consultant.save()
    letter = _issue(consultant)
    assert letter.language == "es"
    text = _text(letter_pdf(letter))
    # Words the catalog already has, and the months, in Spanish. (The letter's new
    # sentences are translated by the lead after merging: locale/ is theirs.)
    assert "Mes" in text and "Pagado" in text and "Month" not in text
    month = month_start(timezone.localdate())
    assert f"de {month.year}" in text and "Página 1 de 1" in text


def test_issuing_enqueues_the_render_and_the_stored_pdf_is_served_as_stored(
    engagement, paid_month, django_capture_on_commit_callbacks, monkeypatch
):
    from core import tasks as core_tasks
    from income.tasks import render_income_letter
    from payments.documents.rendering import stored_pdf

    assert core_tasks.resolve("income.tasks.render_income_letter") is render_income_letter
    asked = []
    monkeypatch.setattr(
        core_tasks, "resolve", lambda task: type("T", (), {"enqueue": asked.append})()
    )
    with django_capture_on_commit_callbacks(execute=True):
        letter = _issue(engagement.consultant)
    assert asked == [letter.pk] and not letter.is_rendered
    rendered = letter_render(letter_id=letter.pk)
    assert rendered.is_rendered and letter_render(letter_id=letter.pk).sha256 == rendered.sha256
    assert letter.number in _text(stored_pdf(rendered))
    # Written once: nothing but the stored PDF is ever filled in.
    from core.append_only import AppendOnlyError

    with pytest.raises(AppendOnlyError):
        IncomeLetter.objects.filter(pk=letter.pk).update(income_total=Decimal("1.00"))
    with pytest.raises(AppendOnlyError):
        rendered.delete()


def test_a_letter_is_refused_outside_its_bounds(engagement, outsider):
    consultant = engagement.consultant
    this_month = month_start(timezone.localdate())
    bad = [
        (this_month, add_months(this_month, 1)),  # the future
        (add_months(this_month, -24), this_month),  # 25 months
        (this_month, add_months(this_month, -1)),  # backwards
    ]
    for first, last in bad:
        with pytest.raises(ValidationFailed):
            income_letter_issue(
                consultant=consultant, by=consultant.user, first_month=first, last_month=last
            )
    with pytest.raises(NotAllowed):
        income_letter_issue(
            consultant=outsider, by=consultant.user, first_month=this_month, last_month=this_month
        )
    assert IncomeLetter.objects.count() == 0


def test_anyone_can_check_a_letter_without_learning_who_it_is_for(client, engagement, paid_month):
    hours, _refund = paid_month
    letter = _issue(engagement.consultant)
    response = client.get(reverse("receipt_verify", args=[letter.verification_code]))
    assert response.status_code == 200
    body = response.content.decode()
    assert letter.number in body and "Honora Demo Research Collaborative" in body
    assert f"${hours.amount:,.2f}" in body and "$23.40" in body
    assert engagement.consultant.display_name not in body
    assert letter.payee_name not in body
    assert client.get(reverse("receipt_verify", args=["ZZZZZZZZZZZZ"])).status_code == 404
    assert client.get(reverse("receipt_verify", args=["bad!"])).status_code == 404


def test_checking_codes_is_rate_limited(client, settings, engagement, paid_month):
    cache.clear()
    settings.RECEIPT_VERIFY_PER_MINUTE = 2
    letter = _issue(engagement.consultant)
    url = reverse("receipt_verify", args=[letter.verification_code])
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429


def test_the_letter_pages_issue_and_download_only_ones_own(
    client, engagement, paid_month, outsider
):
    client.force_login(engagement.consultant.user)
    this_month = month_start(timezone.localdate()).strftime("%Y-%m")
    response = client.post(
        reverse("portal:income_letter"), {"first_month": this_month, "last_month": this_month}
    )
    assert response.status_code == 302
    letter = IncomeLetter.objects.get()
    # Before a worker has drawn it: the page says so, the download is refused (409).
    assert "being prepared" in client.get(response.url).content.decode()
    assert (
        client.get(reverse("portal:income_letter_pdf", args=[letter.public_id])).status_code == 409
    )
    letter_render(letter_id=letter.pk)
    assert "Download the letter" in client.get(response.url).content.decode()
    download = client.get(reverse("portal:income_letter_pdf", args=[letter.public_id]))
    assert download.status_code == 200
    body = b"".join(download.streaming_content) if download.streaming else download.content
    assert letter.number in _text(body)
    # A bad period: a clear error, nothing issued.
    bad = client.post(
        reverse("portal:income_letter"), {"first_month": "1990-01", "last_month": this_month}
    )
    assert bad.status_code == 400 and IncomeLetter.objects.count() == 1
    client.force_login(outsider.user)
    assert (
        client.get(reverse("portal:income_letter_pdf", args=[letter.public_id])).status_code == 404
    )
