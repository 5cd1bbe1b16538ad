"""The pay-plan and income endpoints as every role: the owner's own; an outsider sees
nothing of theirs (404); staff read plans and never act for the consultant."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from income.models import PayPlan, PayPlanEvent
from income.schedule import add_months
from income.services import pay_plan_create
from tests.api.conftest import client_for
from tests.income.support import work

pytestmark = pytest.mark.django_db

A, C, O, CO, F, AD = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")  # noqa: E741


@pytest.fixture
def api(consultant, outsider, coordinator, finance, admin_user):
    cache.clear()
    return {
        A: client_for(None),
        C: client_for(consultant.user),
        O: client_for(outsider.user),
        CO: client_for(coordinator),
        F: client_for(finance),
        AD: client_for(admin_user),
    }


@pytest.fixture
def plan(engagement, coordinator):
    entry = work(engagement, approver=coordinator)
    work(engagement, approver=coordinator)  # a second entry, free for a new plan
    return pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=[entry],
        start_month=add_months(timezone.localdate(), 1),
    )


def _next_month() -> str:
    return add_months(timezone.localdate(), 1).isoformat()


TABLE = [
    ("get", "/api/v1/pay-plans/", None, {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    # A coordinator reads no one's plan: a split's month_limit is near a benefits ceiling.
    ("get", "/api/v1/pay-plans/{plan}/", None, {A: 401, C: 200, O: 404, CO: 404, F: 200, AD: 200}),
    (
        "post",
        "/api/v1/pay-plans/{plan}/cancel/",
        {},
        {A: 401, C: 200, O: 404, CO: 404, F: 403, AD: 403},
    ),
    (
        "post",
        "/api/v1/pay-plans/",
        {"kind": "defer", "start_month": "NEXT"},
        # The outsider has no approved work to defer: a state, 409.
        {A: 401, C: 201, O: 409, CO: 403, F: 403, AD: 403},
    ),
    ("get", "/api/v1/income/", None, {A: 401, C: 200, O: 200, CO: 404, F: 404, AD: 404}),
]


@pytest.mark.parametrize("role", [A, C, O, CO, F, AD])
@pytest.mark.parametrize(("method", "path", "body", "expected"), TABLE)
def test_endpoint_access(api, plan, role, method, path, body, expected):
    url = path.format(plan=plan.public_id)
    client = api[role]
    if method == "get":
        response = client.get(url)
    else:
        body = {k: (_next_month() if v == "NEXT" else v) for k, v in (body or {}).items()}
        response = client.post(url, body, format="json")
    assert response.status_code == expected[role], response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "fields"}


def test_lists_show_only_ones_own_plans(api, plan, outsider):
    mine = api[C].get("/api/v1/pay-plans/").json()["results"]
    assert [p["public_id"] for p in mine] == [str(plan.public_id)]
    assert api[O].get("/api/v1/pay-plans/").json()["results"] == []
    assert api[CO].get("/api/v1/pay-plans/").json()["results"] == []
    assert [p["public_id"] for p in api[F].get("/api/v1/pay-plans/").json()["results"]] == [
        str(plan.public_id)
    ]


def test_create_split_and_cancel_through_the_api(api, plan, engagement):
    this_month = timezone.localdate().replace(day=1).isoformat()
    response = api[C].post(
        "/api/v1/pay-plans/",
        {"kind": "split", "start_month": this_month, "months": 2, "month_limit": "1000000.00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "split" and body["months"] == 2 and body["month_limit"] == "1000000.00"
    # Out of bounds: refused, nothing saved.
    before = PayPlan.objects.count()
    for bad in (
        {"kind": "split", "start_month": this_month, "months": 9, "month_limit": "10"},
        {"kind": "split", "start_month": this_month, "months": 2, "month_limit": "-1"},
        {"kind": "split", "start_month": this_month, "months": 2, "month_limit": 1e300},
        {"kind": "defer", "start_month": "2999-01-01"},
        {"kind": "defer", "start_month": _next_month(), "entries": [str(plan.public_id)]},
    ):
        assert api[C].post("/api/v1/pay-plans/", bad, format="json").status_code in (400, 409)
    assert PayPlan.objects.count() == before
    cancelled = api[C].post(f"/api/v1/pay-plans/{body['public_id']}/cancel/", {}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    again = api[C].post(f"/api/v1/pay-plans/{body['public_id']}/cancel/", {}, format="json")
    assert again.status_code == 409
    assert PayPlanEvent.objects.count() == 1


def test_income_figures_are_decimal_strings(api, paid_month):
    hours, _refund = paid_month
    body = api[C].get("/api/v1/income/").json()
    this_month = timezone.localdate().replace(day=1).isoformat()
    row = next(m for m in body["months"] if m["month"] == this_month)
    assert row["paid"] == str(hours.amount) and row["reimbursements"] == "23.40"
    assert Decimal(row["scheduled"]) >= 0 and row["room"] is None
