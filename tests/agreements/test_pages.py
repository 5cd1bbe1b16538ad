"""The consultant's agreement pages, the PDF, and the staff page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.models import AgreementAcceptance
from agreements.services import agreement_issue
from tests.factories import EngagementFactory
from tests.payments.documents_support import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(consultant):
    return EngagementFactory(consultant=consultant, agreed=False).agreement_versions.get()


def test_home_shows_the_waiting_agreement_and_the_consultant_accepts_it(
    client, consultant, waiting
):
    client.force_login(consultant.user)
    home = client.get(reverse("portal:home")).content.decode()
    url = reverse("portal:agreement", kwargs={"public_id": waiting.public_id})
    assert 'id="agreement-waiting"' in home and url in home
    page = client.get(url).content.decode()
    assert "I agree" in page and "$60.00 an hour" in page
    answer = client.post(url)
    assert answer.status_code == 302
    assert AgreementAcceptance.objects.get(version=waiting).how == "portal"
    after = client.get(url).content.decode()
    assert "You accepted this agreement" in after and "I agree" not in after
    assert 'id="agreement-waiting"' not in client.get(reverse("portal:home")).content.decode()
    listing = client.get(reverse("portal:agreements")).content.decode()
    assert "Accepted on" in listing
    # Twice is a conflict, shown on the page.
    assert client.post(url).status_code == 409


def test_outsider_never_reaches_anothers_agreement(client, outsider, waiting):
    client.force_login(outsider.user)
    for name in ("portal:agreement", "portal:agreement_pdf"):
        url = reverse(name, kwargs={"public_id": waiting.public_id})
        assert client.get(url).status_code == 404
        assert client.post(url).status_code in (404, 405)
    assert not AgreementAcceptance.objects.filter(version=waiting).exists()
    assert str(waiting.public_id) not in client.get(reverse("portal:agreements")).content.decode()


@pytest.mark.parametrize("language", ["en", "es"])
def test_pdf_in_the_consultants_language_with_their_rates(client, consultant, language):
    consultant.preferred_language = language
    consultant.save(update_fields=["preferred_language"])
    version = EngagementFactory(consultant=consultant).agreement_versions.get()
    assert version.language == language
    client.force_login(consultant.user)
    answer = client.get(reverse("portal:agreement_pdf", kwargs={"public_id": version.public_id}))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"] == 'attachment; filename="agreement-v1.pdf"'
    text = pdf_text(b"".join(answer))
    assert "60.00" in text and "Advisor" in text


def test_staff_page_lists_versions_and_coordinator_records_paper(client, coordinator, waiting):
    client.force_login(coordinator)
    engagement = waiting.engagement
    page = client.get(reverse("agreements:engagement", kwargs={"public_id": engagement.public_id}))
    assert page.status_code == 200 and "Waiting for the consultant" in page.content.decode()
    paper = reverse("agreements:paper", kwargs={"public_id": waiting.public_id})
    bad = client.post(paper, {"witnessed_by": "", "accepted_on": timezone.localdate()})
    assert bad.status_code == 400
    ok = client.post(paper, {"witnessed_by": "Ana", "accepted_on": timezone.localdate()})
    assert ok.status_code == 302
    assert AgreementAcceptance.objects.get(version=waiting).witnessed_by == "Ana"
    issue = client.post(
        reverse("agreements:issue", kwargs={"public_id": engagement.public_id}), {"contact": ""}
    )
    assert issue.status_code == 302
    assert engagement.agreement_versions.count() == 2
    detail = client.get(
        reverse("engagements:engagement_detail", kwargs={"public_id": engagement.public_id})
    ).content.decode()
    assert "Agreement version 2 is waiting for the consultant." in detail


def test_finance_reads_but_cannot_issue(client, finance, waiting):
    client.force_login(finance)
    engagement = waiting.engagement
    url = reverse("agreements:engagement", kwargs={"public_id": engagement.public_id})
    assert client.get(url).status_code == 200
    issue = reverse("agreements:issue", kwargs={"public_id": engagement.public_id})
    assert client.post(issue, {}).status_code == 403


def test_reissue_keeps_the_named_contact(coordinator, coordinator2, waiting):
    v2 = agreement_issue(engagement=waiting.engagement, by=coordinator, contact=coordinator2)
    v3 = agreement_issue(engagement=waiting.engagement, by=coordinator)
    assert v2.terms["contact"]["email"] == v3.terms["contact"]["email"] == coordinator2.email
