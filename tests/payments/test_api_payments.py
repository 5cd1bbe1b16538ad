"""Payout batches and payments over the API: the whole flow, refusals, privacy, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consultants.models import PayoutMethod
from payments.models import Payment, PayoutBatch
from tests.api.conftest import client_for
from tests.factories import ConsultantFactory, EngagementFactory
from tests.payments.payout_support import approved, build, consultant_with_work

pytestmark = pytest.mark.django_db

BATCHES = "/api/v1/payout-batches/"
PAYMENTS = "/api/v1/payments/"


@pytest.fixture
def fin(finance):
    return client_for(finance)


@pytest.fixture
def fin2(finance2):
    return client_for(finance2)


@pytest.fixture
def work(engagement, coordinator):
    approved(engagement, approver=coordinator, quantity="2")
    approved(
        engagement, approver=coordinator, kind="reimbursement", quantity="23.40", activity="travel"
    )
    consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    return engagement


def _post(client, url, body=None, **headers):
    return client.post(url, body or {}, format="json", **headers)


def test_build_approve_execute_and_record_by_check(fin, fin2, work, finance):
    built = _post(fin, BATCHES, {"cutoff_date": "2026-03-31", "note": "March"})
    assert built.status_code == 201, built.content
    batch = built.json()
    assert batch["status"] == "draft" and batch["created_by"] == "Grace"
    assert batch["payment_count"] == 2 and batch["held_count"] == 1
    assert batch["total"] == "263.40"
    assert {m["payout_method"]: m["amount"] for m in batch["totals_by_method"]} == {
        "stripe": "120.00",
        "check": "143.40",
    }
    assert batch["flags"] == [
        {
            "payment": batch["flags"][0]["payment"],
            "consultant_name": "Wren",
            "amount": "120.00",
            "hold_reason": "account_not_ready",
            "hold_detail": "The consultant has not started Stripe onboarding.",
        }
    ]
    url = f"{BATCHES}{batch['public_id']}/"
    assert _post(fin, url + "submit/").json()["status"] == "pending_approval"

    own = _post(fin, url + "approve/")
    assert own.status_code == 403 and own.json()["code"] == "own_batch"
    assert _post(fin2, url + "approve/").json()["status"] == "approved"

    executed = _post(fin, url + "execute/")
    assert executed.json()["status"] == "processing"
    assert {s["status"]: s["count"] for s in executed.json()["counts_by_status"]} == {
        "held": 1,
        "processing": 1,
    }

    check = fin.get(PAYMENTS, {"batch": batch["public_id"], "payout_method": "check"}).json()[
        "results"
    ]
    assert len(check) == 1 and check[0]["consultant_name"] == "River"
    paid = _post(
        fin,
        f"{PAYMENTS}{check[0]['public_id']}/record_manual/",
        {"reference": "1001", "handed_over_on": "2026-04-01"},
    )
    assert paid.status_code == 200
    assert (paid.json()["status"], paid.json()["reference"]) == ("paid", "1001")
    assert [i["kind"] for i in paid.json()["items"]] == ["hours", "reimbursement"]


def test_executing_an_unapproved_batch_is_a_conflict(fin, work):
    batch = _post(fin, BATCHES, {"cutoff_date": "2026-03-31"}).json()
    response = _post(fin, f"{BATCHES}{batch['public_id']}/execute/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert PayoutBatch.objects.get().status == "draft"


def test_build_errors_name_their_field(fin, work):
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = _post(fin, BATCHES, {"cutoff_date": future})
    assert response.status_code == 400 and "cutoff_date" in response.json()["fields"]
    unknown = _post(
        fin,
        BATCHES,
        {"cutoff_date": "2026-03-31", "study": "0" * 8 + "-0000-0000-0000-" + "0" * 12},
    )
    assert unknown.status_code == 400 and "study" in unknown.json()["fields"]
    bad_method = _post(fin, BATCHES, {"cutoff_date": "2026-03-31", "payout_method": "crypto"})
    assert bad_method.status_code == 400 and "payout_method" in bad_method.json()["fields"]
    assert not PayoutBatch.objects.exists()


def test_cancel_needs_a_reason_and_a_second_cancel_is_a_conflict(fin, work):
    batch = _post(fin, BATCHES, {"cutoff_date": "2026-03-31"}).json()
    url = f"{BATCHES}{batch['public_id']}/cancel/"
    missing = _post(fin, url, {})
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    assert _post(fin, url, {"reason": "Wrong cut-off"}).json()["status"] == "cancelled"
    assert _post(fin, url, {"reason": "Wrong cut-off"}).status_code == 409


def test_a_post_with_an_idempotency_key_is_answered_once(fin, work):
    first = _post(fin, BATCHES, {"cutoff_date": "2026-03-31"}, HTTP_IDEMPOTENCY_KEY="build-1")
    again = _post(fin, BATCHES, {"cutoff_date": "2026-03-31"}, HTTP_IDEMPOTENCY_KEY="build-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["public_id"] == first.json()["public_id"]
    assert PayoutBatch.objects.count() == 1


def test_void_needs_a_reason(fin, fin2, work, finance, finance2):
    from payments.services.batches import batch_approve, batch_execute, batch_submit

    batch = build(by=finance)
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance)
    payment = batch.payments.get(method="check")
    url = f"{PAYMENTS}{payment.public_id}/void/"
    missing = _post(fin, url, {"reason": ""})
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    voided = _post(fin, url, {"reason": "Check lost"})
    assert voided.json()["status"] == "voided" and voided.json()["closed_reason"] == "Check lost"
    assert all(item["live"] is False for item in voided.json()["items"])


def test_recording_a_payment_to_yourself_is_refused(finance, finance2, coordinator):
    from payments.services.batches import batch_approve, batch_execute, batch_submit
    from tests.factories import UserFactory

    me = ConsultantFactory(user=finance2, display_name="Tomás as consultant")
    approved(EngagementFactory(consultant=me), approver=coordinator)
    batch = build(by=finance)
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=UserFactory(roles=["finance"]))
    batch_execute(batch=batch, by=finance)
    payment = batch.payments.get()
    response = _post(
        client_for(finance2),
        f"{PAYMENTS}{payment.public_id}/record_manual/",
        {"reference": "1001", "handed_over_on": "2026-04-01"},
    )
    assert response.status_code == 403 and response.json()["code"] == "own_payment"
    payment.refresh_from_db()
    assert payment.status == "processing"


def test_a_consultant_reads_neutral_words_not_finance_notes(
    consultant, engagement, coordinator, finance, settings
):
    settings.TAX_FORM_ORG_THRESHOLD = 0
    approved(engagement, approver=coordinator)
    payment = build(by=finance).payments.get()
    assert payment.status == Payment.Status.HELD
    mine = client_for(consultant.user).get(f"{PAYMENTS}{payment.public_id}/").json()
    assert mine["status"] == "held" and mine["hold_reason"] == "w9_missing"
    assert mine["status_note"].startswith("On hold: we need a tax form (W-9)")
    assert mine["hold_detail"] == "" and mine["attempts"] == []
    theirs = client_for(finance).get(f"{PAYMENTS}{payment.public_id}/").json()
    assert "threshold" in theirs["hold_detail"]


def test_filters_are_strict(fin, work, finance):
    build(by=finance)
    assert fin.get(PAYMENTS, {"status": "held"}).json()["results"][0]["consultant_name"] == "Wren"
    empty = fin.get(PAYMENTS + "?status=")
    assert empty.status_code == 400 and "status" in empty.json()["fields"]
    wrong = fin.get(BATCHES, {"status": "nope"})
    assert wrong.status_code == 400


# --- query counts ----------------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def _grow(n, *, coordinator, engagement):
    for i in range(n):
        consultant_with_work(
            approver=coordinator,
            method=[PayoutMethod.CHECK, PayoutMethod.STRIPE][i % 2],
            phase=engagement.phase,
            rate_card=engagement.rate_card,
            items=2,
        )


def test_lists_run_the_same_queries_for_3_or_30(fin, finance, coordinator, engagement):
    _grow(3, coordinator=coordinator, engagement=engagement)
    small_batch = build(by=finance)
    counts_small = (
        _count(fin, PAYMENTS),
        _count(fin, f"{BATCHES}{small_batch.public_id}/"),
        _count(fin, BATCHES),
    )
    _grow(27, coordinator=coordinator, engagement=engagement)
    big_batch = build(by=finance)
    for _ in range(28):
        _grow(1, coordinator=coordinator, engagement=engagement)
        build(by=finance)
    assert Payment.objects.count() == 3 + 27 + 28 and PayoutBatch.objects.count() == 30
    counts_big = (
        _count(fin, PAYMENTS),
        _count(fin, f"{BATCHES}{big_batch.public_id}/"),
        _count(fin, BATCHES),
    )
    assert counts_big == counts_small


def test_a_consultants_list_runs_the_same_queries_for_3_or_30(
    consultant, engagement, coordinator, finance
):
    from datetime import date

    mine = client_for(consultant.user)

    def pay_once(day):
        approved(engagement, approver=coordinator, day=day)
        build(by=finance, cutoff_date=day)

    for i in range(3):
        pay_once(date(2026, 1, 1 + i))
    small = _count(mine, PAYMENTS)
    for i in range(27):
        pay_once(date(2026, 2, 1 + i))
    assert len(mine.get(PAYMENTS).json()["results"]) == 30
    assert _count(mine, PAYMENTS) == small
