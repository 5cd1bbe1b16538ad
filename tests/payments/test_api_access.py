"""Every payout endpoint and method as owner, outsider, each staff role and anonymous.

``consultant`` is paid in the batch (the owner); ``outsider`` is another
consultant. Batches are finance's: everyone else gets 403. A consultant reads
their own payments and gets 404 for anyone else's; acting on a payment is for
finance only (403). Whoever built a batch does not approve it (finance: 403,
finance2: 200). Anonymous callers get 401.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import client_for
from tests.payments.payout_support import approved, build

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "consultant", "outsider", "coordinator", "finance", "finance2", "admin")
A, C, O, CO, F, F2, AD = ROLES  # noqa: E741 - short names keep the table readable

FINANCE = {A: 401, C: 403, O: 403, CO: 403, F: 200, F2: 200, AD: 403}


def row(method, path, expected, body=None):
    return pytest.param(method, path, expected, body, id=f"{method} {path}")


# Paths use {batch} (pending approval, built by finance) and {payment} (the owner's, in it).
TABLE = [
    row("get", "/api/v1/payout-batches/", FINANCE),
    row("get", "/api/v1/payout-batches/{batch}/", FINANCE),
    row(
        "post",
        "/api/v1/payout-batches/",
        {**FINANCE, F: 201, F2: 201},
        {"cutoff_date": "2026-03-31"},
    ),
    # Already sent for approval: sending again changes nothing.
    row("post", "/api/v1/payout-batches/{batch}/submit/", FINANCE),
    row("post", "/api/v1/payout-batches/{batch}/approve/", {**FINANCE, F: 403}),
    row("post", "/api/v1/payout-batches/{batch}/execute/", {**FINANCE, F: 409, F2: 409}),
    row("post", "/api/v1/payout-batches/{batch}/cancel/", FINANCE, {"reason": "Duplicate"}),
    row("get", "/api/v1/payout-batches/?status=pending_approval", FINANCE),
    row("get", "/api/v1/payments/", {**FINANCE, C: 200, O: 200}),
    row("get", "/api/v1/payments/?batch={batch}", {**FINANCE, C: 200, O: 200}),
    row("get", "/api/v1/payments/{payment}/", {**FINANCE, C: 200, O: 404}),
    # The batch is not executed yet: nothing to record or void.
    row(
        "post",
        "/api/v1/payments/{payment}/record_manual/",
        {**FINANCE, O: 404, F: 409, F2: 409},
        {"reference": "1001", "handed_over_on": "2026-04-01"},
    ),
    row(
        "post",
        "/api/v1/payments/{payment}/void/",
        {**FINANCE, O: 404, F: 409, F2: 409},
        {"reason": "Lost"},
    ),
    row(
        "post",
        "/api/v1/payments/{payment}/release/",
        {**FINANCE, O: 404, F: 409, F2: 409},
    ),
    # A manual payment is never retried: the request is well formed, the payment's rail
    # is what refuses it (wrong_rail), so 409 like any state conflict.
    row(
        "post",
        "/api/v1/payments/{payment}/retry/",
        {**FINANCE, O: 404, F: 409, F2: 409},
    ),
    # Only a failed Stripe payment is checked with Stripe: this one is manual (wrong_rail).
    row(
        "post",
        "/api/v1/payments/{payment}/check_with_stripe/",
        {**FINANCE, O: 404, F: 409, F2: 409},
    ),
    # Not paid yet: it cannot have come back.
    row(
        "post",
        "/api/v1/payments/{payment}/mark_returned/",
        {**FINANCE, O: 404, F: 409, F2: 409},
        {"reason": "The check came back"},
    ),
    row(
        "post",
        "/api/v1/payments/{payment}/cancel/",
        {**FINANCE, O: 404},
        {"reason": "Paid another way"},
    ),
]


@pytest.fixture
def world(
    consultant,
    outsider,
    outsider_engagement,
    engagement,
    coordinator,
    finance,
    finance2,
    admin_user,
):
    approved(engagement, approver=coordinator)
    batch = build(by=finance)
    from payments.services.batches import batch_submit

    batch_submit(batch=batch, by=finance)
    # Work for the outsider, approved after the batch: a new batch can be built.
    approved(outsider_engagement, approver=coordinator)
    clients = {
        A: client_for(None),
        C: client_for(consultant.user),
        O: client_for(outsider.user),
        CO: client_for(coordinator),
        F: client_for(finance),
        F2: client_for(finance2),
        AD: client_for(admin_user),
    }
    return clients, batch, batch.payments.get()


@pytest.mark.parametrize(("method", "path", "expected", "body"), TABLE)
@pytest.mark.parametrize("role", ROLES)
def test_endpoint_access(world, role, method, path, expected, body):
    clients, batch, payment = world
    url = path.format(batch=batch.public_id, payment=payment.public_id)
    client = clients[role]
    response = (
        client.get(url)
        if method == "get"
        else getattr(client, method)(url, body or {}, format="json")
    )
    assert response.status_code == expected[role], response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "fields"}


def test_the_outsider_lists_none_of_the_owners_payments(world):
    clients, _batch, payment = world
    assert clients[O].get("/api/v1/payments/").json()["results"] == []
    mine = clients[C].get("/api/v1/payments/").json()["results"]
    assert [p["public_id"] for p in mine] == [str(payment.public_id)]
