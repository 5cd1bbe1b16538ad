"""Agreements over the API: each sees only what is theirs; the right role acts."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agreements.models import AgreementAcceptance
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/agreements/"


@pytest.fixture
def waiting(consultant):
    return EngagementFactory(consultant=consultant, agreed=False).agreement_versions.get()


def ids(answer):
    return {row["public_id"] for row in answer.json()["results"]}


def test_list_is_own_for_consultants_and_everything_for_staff(api, waiting, outsider_engagement):
    mine = str(waiting.public_id)
    assert mine in ids(api["consultant"].get(URL))
    assert mine not in ids(api["outsider"].get(URL))
    for role in ("coordinator", "finance", "admin"):
        assert mine in ids(api[role].get(URL)), role
    assert api["anonymous"].get(URL).status_code in (401, 403)
    assert api["outsider"].get(f"{URL}{mine}/").status_code == 404
    row = api["consultant"].get(f"{URL}{mine}/").json()
    assert row["acceptance"] is None and row["number"] == 1
    assert "rate_ids" not in row["terms"]
    by_engagement = api["coordinator"].get(URL, {"engagement": str(waiting.engagement.public_id)})
    assert ids(by_engagement) == {mine}


def test_accept_own_latest_once(api, waiting):
    accept = f"{URL}{waiting.public_id}/accept/"
    assert api["outsider"].post(accept).status_code == 404
    assert api["coordinator"].post(accept).status_code == 403
    answer = api["consultant"].post(accept)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["acceptance"]["how"] == "portal"
    again = api["consultant"].post(accept)
    assert again.status_code == 409


def test_old_version_cannot_be_accepted(api, waiting):
    created = api["coordinator"].post(URL, {"engagement": str(waiting.engagement.public_id)})
    assert created.status_code == 201, created.json()
    assert created.json()["number"] == 2
    assert api["consultant"].post(f"{URL}{waiting.public_id}/accept/").status_code == 409


def test_issue_and_paper_are_for_coordinators(api, waiting):
    engagement = str(waiting.engagement.public_id)
    for role in ("consultant", "finance"):
        assert api[role].post(URL, {"engagement": engagement}).status_code in (400, 403), role
    assert api["outsider"].post(URL, {"engagement": engagement}).status_code == 400
    paper = f"{URL}{waiting.public_id}/paper/"
    body = {"witnessed_by": "Ana", "accepted_on": timezone.localdate().isoformat()}
    assert api["consultant"].post(paper, body).status_code == 403
    assert api["finance"].post(paper, body).status_code == 403
    assert api["coordinator"].post(paper, {**body, "witnessed_by": ""}).status_code == 400
    answer = api["coordinator"].post(paper, body)
    assert answer.status_code == 200, answer.json()
    assert AgreementAcceptance.objects.get(version=waiting).witnessed_by == "Ana"
