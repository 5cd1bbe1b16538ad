"""The consent pages: the consultant answers and revokes; coordinators see the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consents.models import ConsentRequest, Standing
from consents.selectors import standing_of
from consents.services import consent_grant, consent_refuse
from engagements.models import Contribution
from tests.consents.conftest import LEGAL_NAME

pytestmark = pytest.mark.django_db


def _page(client, user, url, **kwargs):
    client.force_login(user)
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    html = response.content.decode()
    assert LEGAL_NAME not in html
    return html


def test_home_shows_a_one_line_notice_while_a_request_waits(client, named, ask):
    html = _page(client, named.user, reverse("portal:home"))
    assert "waits for your answer" not in html
    request = ask()
    html = _page(client, named.user, reverse("portal:home"))
    assert "A request waits for your answer." in html
    consent_grant(request=request, by=named.user)
    html = _page(client, named.user, reverse("portal:home"))
    assert "waits for your answer" not in html


def test_the_list_puts_waiting_requests_first(client, named, ask):
    older = ask(purpose="An older quote")
    consent_refuse(request=older, by=named.user)
    ask(purpose="A newer quote")
    html = _page(client, named.user, reverse("portal:consents"))
    assert html.index("A newer quote") < html.index("An older quote")
    assert "Refused" in html and "Waiting for an answer" in html


def test_grant_then_revoke_through_the_pages(client, named, ask, committed, coordinator):
    request = ask(honoraria=2)
    url = reverse("portal:consent", kwargs={"public_id": request.public_id})
    html = _page(client, named.user, url)
    for words in (
        "Your words or a quote",
        "A quote in the final report",
        "A public report",
        "The name you chose: River",
        "$150.00",
        "$300.00",
        'value="grant"',
        'value="refuse"',
    ):
        assert words in html, words

    response = client.post(url, {"answer": "grant"})
    assert response.status_code == 302
    assert standing_of(request) == Standing.GRANTED
    assert Contribution.objects.filter(kind="honorarium", status="submitted").count() == 1
    html = _page(client, named.user, url)
    assert "You granted this use." in html
    revoke_url = reverse("portal:consent_revoke", kwargs={"public_id": request.public_id})
    assert revoke_url in html

    html = _page(client, named.user, revoke_url)  # the confirm step
    assert "Yes, revoke it" in html
    assert standing_of(request) == Standing.GRANTED
    mail.outbox.clear()
    with committed():
        response = client.post(revoke_url, {})
    assert response.status_code == 302
    assert standing_of(request) == Standing.REVOKED
    assert len(mail.outbox) == 1
    html = _page(client, named.user, url)
    assert "You revoked this use." in html
    # Revoking again: the page says so, and nothing is recorded twice.
    response = client.post(revoke_url, {})
    assert response.status_code == 409
    assert request.events.count() == 2
    assert len(mail.outbox) == 1


def test_refuse_through_the_page(client, named, ask):
    request = ask()
    url = reverse("portal:consent", kwargs={"public_id": request.public_id})
    client.force_login(named.user)
    response = client.post(url, {"answer": "refuse", "note": ""})
    assert response.status_code == 302
    assert standing_of(request) == Standing.REFUSED
    response = client.post(url, {"answer": "grant"})
    assert response.status_code == 409
    assert standing_of(request) == Standing.REFUSED


def test_an_answer_that_is_not_a_choice_changes_nothing(client, named, ask):
    request = ask()
    client.force_login(named.user)
    url = reverse("portal:consent", kwargs={"public_id": request.public_id})
    assert client.post(url, {"answer": "maybe"}).status_code == 400
    assert standing_of(request) == Standing.PENDING


def test_another_consultant_gets_404(client, named, ask, outsider):
    request = ask()
    client.force_login(outsider.user)
    for name in ("portal:consent", "portal:consent_revoke"):
        url = reverse(name, kwargs={"public_id": request.public_id})
        assert client.get(url).status_code == 404
        assert client.post(url, {"answer": "grant"}).status_code == 404
    assert standing_of(request) == Standing.PENDING
    assert "A quote in the final report" not in _page(
        client, outsider.user, reverse("portal:consents")
    )


def test_the_ledger_shows_each_use_and_its_standing_without_legal_names(
    client, named, ask, coordinator, engagement
):
    granted = ask(purpose="Granted quote")
    consent_grant(request=granted, by=named.user)
    ask(purpose="Waiting quote", attribution="pseudonym")
    study = engagement.phase.study
    url = reverse("consents:ledger", kwargs={"public_id": study.public_id})
    html = _page(client, coordinator, url)
    assert "Granted quote" in html and "Waiting quote" in html
    assert "Riv" in html  # the pseudonym
    html = _page(client, coordinator, url, data={"standing": "granted"})
    assert "Granted quote" in html and "Waiting quote" not in html
    html = _page(
        client, coordinator, reverse("consents:detail", kwargs={"public_id": granted.public_id})
    )
    assert "Granted quote" in html and "See the honorarium" in html
    assert "Riv granted this use on" in html
    dashboard = _page(
        client,
        coordinator,
        reverse("engagements:study_dashboard", kwargs={"public_id": study.public_id}),
    )
    assert url in dashboard


def test_a_coordinator_asks_and_withdraws_through_the_pages(
    client, named, coordinator, engagement, committed
):
    study = engagement.phase.study
    client.force_login(coordinator)
    url = reverse("consents:request_create", kwargs={"public_id": study.public_id})
    html = _page(client, coordinator, url)
    assert named.display_name in html
    body = {
        "engagement": str(engagement.public_id),
        "use": "image",
        "purpose": "A photo in the training video",
        "audience": "training",
        "duration": "until",
        "until": (timezone.localdate() + timedelta(days=90)).isoformat(),
        "attribution": "anonymous",
        "honoraria": "",
    }
    assert client.post(url, {**body, "until": ""}).status_code == 400
    assert ConsentRequest.objects.count() == 0
    with committed():
        response = client.post(url, body)
    assert response.status_code == 302
    request = ConsentRequest.objects.get()
    assert request.honoraria == 0 and request.requested_by == coordinator
    assert len(mail.outbox) == 1

    withdraw = reverse("consents:withdraw", kwargs={"public_id": request.public_id})
    assert client.post(withdraw, {"note": "Not needed"}).status_code == 302
    assert standing_of(request) == Standing.WITHDRAWN
    assert client.post(withdraw, {}).status_code == 409
