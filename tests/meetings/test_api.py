"""The sessions API: every endpoint as every role, ownership, the lifecycle and its errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engagements.models import Contribution
from meetings.models import Invitation, Session
from tests.api.conftest import client_for
from tests.meetings.support import invited, meeting, past_meeting_invitation

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")
A, C, O, CO, F, AD = ROLES  # noqa: E741


@pytest.fixture
def api(consultant, outsider, coordinator, coordinator2, finance, admin_user):
    return {
        "anonymous": client_for(None),
        "consultant": client_for(consultant.user),
        "outsider": client_for(outsider.user),
        "coordinator": client_for(coordinator),
        "coordinator2": client_for(coordinator2),
        "finance": client_for(finance),
        "admin": client_for(admin_user),
    }


@pytest.fixture
def records(engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    return {"session": session, "invitation": invited(session, engagement, coordinator)}


def _meeting_body(phase):
    starts = timezone.now().replace(microsecond=0) + timedelta(days=2)
    return {
        "phase": phase.pk,
        "kind": "advisory_meeting",
        "title": "Planning",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "pay_kind": "honorarium",
        "pay_quantity": "1",
    }


TABLE = [
    ("get", "/api/v1/sessions/", None, {A: 401, C: 403, O: 403, CO: 200, F: 403, AD: 200}),
    ("get", "/api/v1/sessions/{s}/", None, {A: 401, C: 403, O: 403, CO: 200, F: 403, AD: 200}),
    ("post", "/api/v1/sessions/", "meeting", {A: 401, C: 403, O: 403, CO: 201, F: 403, AD: 201}),
    (
        "post",
        "/api/v1/sessions/{s}/invite/",
        "invite",
        {A: 401, C: 403, O: 403, CO: 200, F: 403, AD: 200},
    ),
    # Before the meeting has started: a conflict for those who may record.
    (
        "post",
        "/api/v1/sessions/{s}/attendance/",
        "attendance",
        {A: 401, C: 403, O: 403, CO: 409, F: 403, AD: 409},
    ),
    (
        "post",
        "/api/v1/sessions/{s}/cancel/",
        "cancel",
        {A: 401, C: 403, O: 403, CO: 200, F: 403, AD: 200},
    ),
    ("get", "/api/v1/invitations/", None, {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    (
        "get",
        "/api/v1/invitations/{i}/",
        None,
        {A: 401, C: 200, O: 404, CO: 200, F: 404, AD: 200},
    ),
    # Only the person invited declines; staff who can see it are refused (403).
    (
        "post",
        "/api/v1/invitations/{i}/decline/",
        None,
        {A: 401, C: 200, O: 404, CO: 403, F: 404, AD: 403},
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [pytest.param(*row, id=f"{row[0]} {row[1]}") for row in TABLE],
)
@pytest.mark.parametrize("role", ROLES)
def test_endpoint_access(api, records, engagement, role, method, path, body, expected):
    s, i = records["session"], records["invitation"]
    url = path.format(s=s.public_id, i=i.public_id)
    bodies = {
        None: {},
        "meeting": _meeting_body(engagement.phase),
        "invite": {"engagements": [str(engagement.public_id)]},
        "attendance": {"attended": [str(i.public_id)]},
        "cancel": {"reason": "Room unavailable"},
    }
    client = api[role]
    response = client.get(url) if method == "get" else client.post(url, bodies[body], format="json")
    assert response.status_code == expected[role], response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "fields"}


def test_consultants_list_only_their_own_invitations(
    api, records, outsider_engagement, coordinator
):
    mine = invited(records["session"], outsider_engagement, coordinator)
    listed = api["outsider"].get("/api/v1/invitations/").json()["results"]
    assert [r["public_id"] for r in listed] == [str(mine.public_id)]
    assert listed[0]["session"]["title"] == "Spring advisory group"
    owner = api["consultant"].get("/api/v1/invitations/").json()["results"]
    assert [r["public_id"] for r in owner] == [str(records["invitation"].public_id)]


def test_lifecycle_over_the_api(api, engagement, coordinator):
    session, inv = past_meeting_invitation(engagement, coordinator)
    url = f"/api/v1/sessions/{session.public_id}/attendance/"
    answer = api["coordinator"].post(url, {"attended": [str(inv.public_id)]}, format="json")
    assert answer.status_code == 200, answer.content
    (entry,) = answer.json()
    assert entry["status"] == "submitted" and entry["kind"] == "honorarium"
    again = api["coordinator"].post(url, {"attended": [str(inv.public_id)]}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_recorded"
    assert Contribution.objects.count() == 1
    approve = api["coordinator2"].post(
        f"/api/v1/contributions/{entry['public_id']}/approve/", {}, format="json"
    )
    assert approve.status_code == 200 and approve.json()["amount"] == "150.00"


def test_attendance_names_only_this_sessions_invitations(api, engagement, coordinator):
    session, _inv = past_meeting_invitation(engagement, coordinator)
    _other, elsewhere = past_meeting_invitation(engagement, coordinator)
    answer = api["coordinator"].post(
        f"/api/v1/sessions/{session.public_id}/attendance/",
        {"attended": [str(elsewhere.public_id)]},
        format="json",
    )
    assert answer.status_code == 400 and "attended" in answer.json()["fields"]


def test_create_errors_name_the_field(api, engagement):
    body = _meeting_body(engagement.phase) | {"pay_kind": "hours", "pay_quantity": "1.3"}
    answer = api["coordinator"].post("/api/v1/sessions/", body, format="json")
    assert answer.status_code == 400 and "pay_quantity" in answer.json()["fields"]
    body = _meeting_body(engagement.phase) | {"online_url": "http://x.example.org"}
    answer = api["coordinator"].post("/api/v1/sessions/", body, format="json")
    assert answer.status_code == 400 and "online_url" in answer.json()["fields"]
    assert not Session.objects.exists()


def test_create_is_idempotent_with_a_key(api, engagement):
    body = _meeting_body(engagement.phase)
    first = api["coordinator"].post(
        "/api/v1/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = api["coordinator"].post(
        "/api/v1/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Session.objects.count() == 1


def test_decline_over_the_api(api, records):
    url = f"/api/v1/invitations/{records['invitation'].public_id}/decline/"
    answer = api["consultant"].post(url, {}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "declined"
    assert Invitation.objects.get().status == "declined"
