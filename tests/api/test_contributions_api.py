"""Contributions over the API: every action, as every role."""

from datetime import date
from decimal import Decimal

import pytest

from engagements.models import Contribution, Dispute
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve

pytestmark = pytest.mark.django_db

URL = "/api/v1/contributions/"


def detail(c, action=""):
    return f"{URL}{c.public_id}/{action + '/' if action else ''}"


def new_body(engagement, **overrides):
    body = {
        "engagement": str(engagement.public_id),
        "kind": "hours",
        "activity": "work",
        "date": "2026-03-12",
        "quantity": "2.50",
        "description": "Advisory call",
    }
    body.update(overrides)
    return body


def test_coordinator_logs_and_another_approves(api, engagement):
    created = api["coordinator"].post(URL, new_body(engagement, submit=True), format="json")
    assert created.status_code == 201, created.json()
    public_id = created.json()["public_id"]
    assert created.json()["status"] == "submitted"
    own = api["coordinator"].post(f"{URL}{public_id}/approve/")
    assert own.status_code == 403
    assert own.json()["code"] == "own_entry"
    approved = api["coordinator2"].post(f"{URL}{public_id}/approve/")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["amount"] == "150.00"
    assert approved.json()["rate"] == "60.00"
    again = api["admin"].post(f"{URL}{public_id}/approve/")
    assert again.status_code in (403, 409)


def test_consultant_submits_own_hours_and_they_arrive_submitted(api, engagement):
    response = api["consultant"].post(URL, new_body(engagement), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "submitted"


def test_outsider_cannot_log_on_someone_elses_engagement(api, engagement):
    response = api["outsider"].post(URL, new_body(engagement), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"engagement": [response.json()["message"]]}
    assert Contribution.objects.count() == 0


def test_reject_needs_reason_and_records_it(api, submitted):
    missing = api["coordinator2"].post(detail(submitted, "reject"), {}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()["fields"]
    done = api["coordinator2"].post(
        detail(submitted, "reject"), {"reason": "Split prep"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    assert done.json()["rejected_reason"] == "Split prep"
    stale = api["coordinator2"].post(
        detail(submitted, "reject"), {"reason": "again"}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"


def test_edit_submitted_needs_reason_then_history_tells(api, submitted):
    refused = api["coordinator"].patch(detail(submitted), {"quantity": "2.50"}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["reason"]
    ok = api["coordinator"].patch(
        detail(submitted), {"quantity": "2.50", "reason": "included prep time"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["quantity"] == "2.50"
    history = api["consultant"].get(
        "/api/v1/history/", {"type": "contribution", "id": str(submitted.public_id)}
    )
    assert history.status_code == 200
    last = history.json()["entries"][-1]
    assert last["who"] == "Maria" and last["role"] == "coordinator"
    assert last["reason"] == "included prep time"
    assert {"field": "quantity", "label": "quantity", "old": "2", "new": "2.5"} in last["changes"]
    assert "changed quantity from 2 to 2.5" in last["sentence"]


def test_dispute_and_adjust(api, submitted, coordinator2):
    contribution_approve(contribution=submitted, by=coordinator2)
    disputed = api["consultant"].post(
        detail(submitted, "dispute"), {"comment": "It was 3 hours"}, format="json"
    )
    assert disputed.status_code == 200 and disputed.json()["has_open_dispute"] is True
    twice = api["consultant"].post(
        detail(submitted, "dispute"), {"comment": "Again"}, format="json"
    )
    assert twice.status_code == 409
    assert Dispute.objects.count() == 1
    adjusted = api["coordinator"].post(
        detail(submitted, "adjust"),
        {"quantity_delta": "1.00", "reason": "It was 3 hours"},
        format="json",
    )
    assert adjusted.status_code == 201
    assert adjusted.json()["adjusts"] == str(submitted.public_id)
    assert adjusted.json()["status"] == "submitted"
    consultant_adjusts = api["consultant"].post(
        detail(submitted, "adjust"), {"quantity_delta": "1.00", "reason": "mine"}, format="json"
    )
    assert consultant_adjusts.status_code == 403


def test_approved_entries_cannot_be_edited(api, submitted, coordinator2):
    contribution_approve(contribution=submitted, by=coordinator2)
    response = api["coordinator"].patch(
        detail(submitted), {"quantity": "3", "reason": "more"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "locked"


def test_filters_and_ordering(api, engagement, coordinator):
    for day, kind in ((1, "hours"), (2, "honorarium"), (3, "hours")):
        contribution_create(
            engagement=engagement,
            by=coordinator,
            kind=kind,
            activity="meeting" if kind == "honorarium" else "work",
            date=date(2026, 3, day),
            quantity=Decimal("1"),
        )
    response = api["coordinator"].get(URL, {"kind": "hours", "ordering": "date"})
    assert [r["date"] for r in response.json()["results"]] == ["2026-03-01", "2026-03-03"]
    bad = api["coordinator"].get(URL, {"kind": "bonus"})
    assert bad.status_code == 400
    assert "kind" in bad.json()["fields"]


def test_a_list_runs_the_same_queries_whatever_the_page_size(
    api, engagement, coordinator, django_assert_max_num_queries
):
    for day in range(1, 29):
        contribution_create(
            engagement=engagement,
            by=coordinator,
            kind="hours",
            activity="work",
            date=date(2026, 2, day),
            quantity=Decimal("1"),
        )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (3, 25):
        with CaptureQueriesContext(connection) as ctx:
            response = api["coordinator"].get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_quantity_in_quarter_hours_and_garbage_is_400(api, engagement):
    for body in (
        new_body(engagement, quantity="1.10"),
        new_body(engagement, quantity="NaN"),
        new_body(engagement, quantity="1e400"),
        new_body(engagement, date="2026-02-30"),
        {**new_body(engagement), "engagement": "not-a-uuid"},
        new_body(engagement, kind="reimbursement", claimed_amount=None),
        {"engagement": []},
        [],
    ):
        response = api["coordinator"].post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert set(response.json()) == {"code", "message", "fields"}
    assert Contribution.objects.count() == 0
