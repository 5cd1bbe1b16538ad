"""The consent ledger's API: who may do what, and no legal name in any answer."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from consents.models import Standing
from consents.selectors import standing_of
from engagements.models import Contribution
from tests.api.conftest import client_for
from tests.consents.conftest import LEGAL_NAME

pytestmark = pytest.mark.django_db

A, C, O, CO, F, AD = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")  # noqa: E741


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(named, outsider, coordinator, coordinator2, finance, admin_user):
    return {
        A: client_for(None),
        C: client_for(named.user),
        O: client_for(outsider.user),
        CO: client_for(coordinator),
        "coordinator2": client_for(coordinator2),
        F: client_for(finance),
        AD: client_for(admin_user),
    }


def _body(engagement):
    return {
        "engagement": str(engagement.public_id),
        "use": "story",
        "purpose": "A conference talk in May",
        "audience": "conference",
        "duration": "until",
        "until": (timezone.localdate() + timedelta(days=200)).isoformat(),
        "attribution": "pseudonym",
        "honoraria": 1,
    }


BASE = "/api/v1/consent-requests/"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", BASE, {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
        ("get", BASE + "{r}/", {A: 401, C: 200, O: 404, CO: 200, F: 404, AD: 200}),
        ("post", BASE, {A: 401, C: 403, O: 403, CO: 201, F: 403, AD: 201}),
        ("post", BASE + "{r}/withdraw/", {A: 401, C: 403, O: 403, CO: 200, F: 403, AD: 200}),
        ("post", BASE + "{r}/refuse/", {A: 401, C: 200, O: 404, CO: 403, F: 404, AD: 403}),
        ("post", BASE + "{r}/grant/", {A: 401, C: 200, O: 404, CO: 403, F: 404, AD: 403}),
        ("post", BASE + "{r}/revoke/", {A: 401, C: 409, O: 404, CO: 403, F: 404, AD: 403}),
    ],
)
def test_access(api, ask, engagement, method, path, expected):
    for role in (A, C, O, CO, F, AD):
        request = ask()  # a fresh pending request for each caller
        url = path.format(r=request.public_id)
        client = api[role]
        body = _body(engagement) if path == BASE and method == "post" else {}
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == expected[role], (role, url, response.content[:300])


def test_staff_ledger_per_study_and_by_standing(api, ask, engagement, named):
    granted = ask()
    ask()
    response = api[C].post(f"{BASE}{granted.public_id}/grant/")
    assert response.status_code == 200
    study = engagement.phase.study.public_id
    response = api[CO].get(BASE, {"study": str(study), "standing": "granted"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["public_id"] for r in results] == [str(granted.public_id)]
    assert results[0]["standing"] == "granted"
    assert results[0]["consultant_name"] == "Riv"
    assert results[0]["events"][0]["contribution"]
    response = api[CO].get(BASE, {"study": str(study)})
    assert len(response.json()["results"]) == 2


def test_lifecycle_through_the_api(
    api, engagement, named, coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api[CO].post(BASE, _body(engagement), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["standing"] == "pending" and data["consultant_name"] == "Riv"
    url = f"{BASE}{data['public_id']}/"
    assert len(mail.outbox) == 1  # the consultant, neutrally

    mine = api[C].get(BASE).json()["results"]
    assert [r["public_id"] for r in mine] == [data["public_id"]]
    assert api[O].get(BASE).json()["results"] == []

    response = api[C].post(url + "grant/")
    assert response.status_code == 200
    contribution_id = response.json()["events"][0]["contribution"]
    c = Contribution.objects.get(public_id=contribution_id)
    assert c.status == Contribution.Status.SUBMITTED and c.quantity == 1

    assert api[C].post(url + "grant/").status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        response = api[C].post(url + "revoke/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["standing"] == "revoked"
    assert len(mail.outbox) == 2
    assert LEGAL_NAME not in mail.outbox[1].body + mail.outbox[1].subject
    assert api[C].post(url + "revoke/", {}, format="json").status_code == 409
    assert api[CO].post(url + "withdraw/", {}, format="json").status_code == 409

    for role in (C, CO, AD):
        for path in (BASE, url):
            assert LEGAL_NAME not in json.dumps(api[role].get(path).json())


def test_a_role_that_sees_no_requests_can_still_filter_by_standing(api, ask):
    ask()
    response = api[F].get(BASE, {"standing": "granted"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_bad_input_is_a_400_that_names_the_field(api, engagement):
    body = {**_body(engagement), "honoraria": 11}
    response = api[CO].post(BASE, body, format="json")
    assert response.status_code == 400
    assert "honoraria" in response.content.decode()
    body = {**_body(engagement), "until": None}
    response = api[CO].post(BASE, body, format="json")
    assert response.status_code == 400
    assert "until" in response.content.decode()
    body = {**_body(engagement), "engagement": "00000000-0000-0000-0000-000000000000"}
    assert api[CO].post(BASE, body, format="json").status_code == 400


def test_a_stale_grant_is_a_conflict(api, ask, coordinator):
    request = ask()
    assert (
        api[CO].post(f"{BASE}{request.public_id}/withdraw/", {}, format="json").status_code == 200
    )
    response = api[C].post(f"{BASE}{request.public_id}/grant/")
    assert response.status_code == 409
    assert standing_of(request) == Standing.WITHDRAWN
