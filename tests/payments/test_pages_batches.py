"""Finance pages for payout batches: build, review with flags, approve, execute, cancel.

Every POST goes through the services; refusals come back as the status the
service carries (400 on the form, 403 for who may act, 409 for a stale action).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from consultants.models import PayoutMethod
from payments.models import Payment, PayoutBatch, StripeAccount
from tests.factories import ConsultantFactory, EngagementFactory, PhaseFactory
from tests.payments.payout_support import (
    CUTOFF,
    approved,
    approved_batch,
    build,
    consultant_with_work,
    count_queries,
    executed_batch,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(engagement, coordinator):
    """River (by check) has two hours of work and a reimbursement approved."""
    approved(engagement, approver=coordinator, quantity="2", activity="meeting")
    approved(
        engagement, approver=coordinator, kind="reimbursement", quantity="23.40", activity="travel"
    )
    return engagement


@pytest.fixture
def as_finance(client, finance):
    client.force_login(finance)
    return client


def _batch_url(batch, name="payments:batch"):
    return reverse(name, kwargs={"public_id": batch.public_id})


def _text(response) -> str:
    return response.content.decode()


# --- building ---------------------------------------------------------------------------


def test_the_build_form_starts_at_today_and_builds_a_batch(as_finance, work, finance):
    page = as_finance.get(reverse("payments:batch_build"))
    assert page.status_code == 200
    assert f'value="{timezone.localdate().isoformat()}"' in _text(page)

    response = as_finance.post(
        reverse("payments:batch_build"),
        {"cutoff_date": CUTOFF.isoformat(), "method": "", "note": "March work"},
    )
    batch = PayoutBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == _batch_url(batch)
    assert (batch.created_by, batch.note, batch.status) == (finance, "March work", "draft")
    assert batch.payments.get().amount == Decimal("143.40")


def test_the_batch_page_shows_each_payment_its_items_and_totals(
    as_finance, work, finance, consultant
):
    from consultants.services import vault_update

    vault_update(
        consultant=consultant,
        by=finance,
        reason="",
        legal_name="Rivera Legal",
        taxpayer_id="900-70-1234",
    )
    batch = build(by=finance)
    text = _text(as_finance.get(_batch_url(batch)))
    assert "River" in text
    assert "143.40" in text  # the payment and the total
    assert "Check" in text
    assert "2 × $60.00" in text and "Meeting" in text and "12 Mar 2026" in text
    # Reimbursements are listed apart from work.
    assert "Reimbursements (not income)" in text and "23.40" in text
    assert "Totals by method" in text
    # Never the identity vault.
    assert "Rivera Legal" not in text and "900-70" not in text
    assert "No payment is on hold." in text


def test_every_preflight_flag_is_shown_with_its_reason(as_finance, work, finance, coordinator):
    consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    batch = build(by=finance)
    held = batch.payments.get(consultant__display_name="Wren")
    assert held.status == Payment.Status.HELD
    text = _text(as_finance.get(_batch_url(batch)))
    assert "The Stripe account cannot receive payouts yet." in text
    assert "The consultant has not started Stripe onboarding." in text
    assert reverse("payments:payment", kwargs={"public_id": held.public_id}) in text


def test_build_errors_stay_on_the_form_with_the_input_kept(as_finance, work):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = as_finance.post(
        reverse("payments:batch_build"), {"cutoff_date": tomorrow, "note": "keep me"}
    )
    assert response.status_code == 400
    text = _text(response)
    assert "The cut-off date cannot be in the future." in text
    assert f'value="{tomorrow}"' in text and "keep me" in text
    assert not PayoutBatch.objects.exists()


def test_nothing_to_pay_is_said_above_the_form(as_finance, finance, db):
    response = as_finance.post(reverse("payments:batch_build"), {"cutoff_date": CUTOFF.isoformat()})
    assert response.status_code == 400
    assert "There is no approved, unpaid work up to 2026-03-31" in _text(response)


def test_a_phase_from_another_study_is_refused_on_its_field(as_finance, work):
    other_phase = PhaseFactory()
    response = as_finance.post(
        reverse("payments:batch_build"),
        {
            "cutoff_date": CUTOFF.isoformat(),
            "study": str(work.phase.study.public_id),
            "phase": other_phase.pk,
        },
    )
    assert response.status_code == 400
    assert "That phase belongs to another study." in _text(response)


def test_filters_narrow_the_batch(as_finance, work, finance, coordinator):
    consultant_with_work(approver=coordinator, method=PayoutMethod.CASH, name="Ash")
    as_finance.post(
        reverse("payments:batch_build"),
        {"cutoff_date": CUTOFF.isoformat(), "method": PayoutMethod.CASH},
    )
    batch = PayoutBatch.objects.get()
    assert [p.consultant.display_name for p in batch.payments.all()] == ["Ash"]


# --- approving ----------------------------------------------------------------------------


def test_submit_then_a_second_person_approves(client, work, finance, finance2):
    batch = build(by=finance)
    client.force_login(finance)
    assert client.post(_batch_url(batch, "payments:batch_submit")).status_code == 302
    batch.refresh_from_db()
    assert batch.status == "pending_approval"

    page = _text(client.get(_batch_url(batch)))
    assert "You built this batch, so another finance person must approve it." in page
    assert _batch_url(batch, "payments:batch_approve") not in page

    client.force_login(finance2)
    page = _text(client.get(_batch_url(batch)))
    assert _batch_url(batch, "payments:batch_approve") in page
    assert client.post(_batch_url(batch, "payments:batch_approve")).status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.approved_by) == ("approved", finance2)


def test_the_builder_approving_their_own_batch_is_refused(client, work, finance):
    batch = build(by=finance)
    client.force_login(finance)
    client.post(_batch_url(batch, "payments:batch_submit"))
    response = client.post(_batch_url(batch, "payments:batch_approve"))
    assert response.status_code == 403
    assert "You built this batch" in _text(response)
    batch.refresh_from_db()
    assert batch.status == "pending_approval" and batch.approved_by is None


def test_someone_paid_in_the_batch_cannot_approve_it(client, finance, finance2, coordinator):
    # finance2 is also a consultant with approved work in this batch.
    me = ConsultantFactory(user=finance2, display_name="Tomás as consultant")
    approved(EngagementFactory(consultant=me), approver=coordinator)
    batch = build(by=finance)
    from payments.services.batches import batch_submit

    batch_submit(batch=batch, by=finance)
    client.force_login(finance2)
    assert "You are paid in this batch" in _text(client.get(_batch_url(batch)))
    response = client.post(_batch_url(batch, "payments:batch_approve"))
    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == "pending_approval"


# --- executing ------------------------------------------------------------------------------


def test_executing_an_unapproved_batch_is_a_conflict(as_finance, work, finance):
    batch = build(by=finance)
    response = as_finance.post(_batch_url(batch, "payments:batch_execute"))
    assert response.status_code == 409
    assert "can no longer be done" in _text(response)
    batch.refresh_from_db()
    assert batch.status == "draft"


def test_execute_starts_paying_and_the_page_polls_progress(as_finance, work, finance, finance2):
    batch = approved_batch(builder=finance, approver=finance2)
    response = as_finance.post(_batch_url(batch, "payments:batch_execute"))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "processing"
    payment = batch.payments.get()
    assert payment.status == "processing"

    text = _text(as_finance.get(_batch_url(batch)))
    assert f'data-progress-url="{_batch_url(batch, "payments:batch_progress")}"' in text
    assert "js/batch-progress.js" in text
    assert f'data-payment-status="{payment.public_id}"' in text

    progress = as_finance.get(_batch_url(batch, "payments:batch_progress"))
    assert progress["Content-Type"] == "application/json"
    assert "no-cache" in progress["Cache-Control"] or "no-store" in progress["Cache-Control"]
    data = json.loads(progress.content)
    assert data["status"] == "processing" and data["done"] is False
    # River is paid by check: nothing is paying it until someone hands it over.
    waiting = "Waiting for hand-over"
    assert data["counts"] == [{"status": "processing", "label": waiting, "count": 1}]
    assert data["payments"] == {str(payment.public_id): {"status": "processing", "label": waiting}}


def test_after_execution_manual_payments_wait_for_hand_over_and_stripe_ones_are_paying(
    as_finance, work, finance, finance2, coordinator
):
    wren = consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    StripeAccount.objects.create(
        consultant=wren, account_id="acct_wren", payouts_enabled=True, transfers_active=True
    )
    # Executed by the service (the page first asks Stripe's balance, not wanted here).
    batch = executed_batch(builder=finance, approver=finance2)
    by_check = batch.payments.get(method=PayoutMethod.CHECK)
    by_stripe = batch.payments.get(method=PayoutMethod.STRIPE)
    assert (by_check.status, by_stripe.status) == ("processing", "processing")

    data = json.loads(as_finance.get(_batch_url(batch, "payments:batch_progress")).content)
    assert data["counts"] == [
        {"status": "processing", "label": "Paying", "count": 1},
        {"status": "processing", "label": "Waiting for hand-over", "count": 1},
    ]
    assert data["payments"] == {
        str(by_check.public_id): {"status": "processing", "label": "Waiting for hand-over"},
        str(by_stripe.public_id): {"status": "processing", "label": "Paying"},
    }
    page = _text(as_finance.get(_batch_url(batch)))
    assert f'data-payment-status="{by_check.public_id}">Waiting for hand-over<' in page
    assert f'data-payment-status="{by_stripe.public_id}">Paying<' in page
    check_page = _text(as_finance.get(_batch_url(by_check, "payments:payment")))
    assert f'data-payment-status="{by_check.public_id}">Waiting for hand-over<' in check_page


def test_progress_says_done_once_the_batch_completes(as_finance, work, finance, finance2):
    from payments.services.batches import batch_execute
    from payments.services.finance import payment_record_manual

    batch = approved_batch(builder=finance, approver=finance2)
    batch_execute(batch=batch, by=finance)
    payment_record_manual(
        payment=batch.payments.get(), by=finance, reference="1001", handed_over_on=CUTOFF
    )
    data = json.loads(as_finance.get(_batch_url(batch, "payments:batch_progress")).content)
    assert data["status"] == "completed" and data["done"] is True
    text = _text(as_finance.get(_batch_url(batch)))
    assert "data-progress-url" not in text
    assert "Every payment in this batch has been paid or closed." in text


def test_execute_twice_changes_nothing(as_finance, work, finance, finance2):
    batch = approved_batch(builder=finance, approver=finance2)
    as_finance.post(_batch_url(batch, "payments:batch_execute"))
    again = as_finance.post(_batch_url(batch, "payments:batch_execute"))
    assert again.status_code == 302
    assert PayoutBatch.objects.get().status == "processing"


# --- cancelling -------------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_keeps_the_page(as_finance, work, finance):
    batch = build(by=finance)
    response = as_finance.post(_batch_url(batch, "payments:batch_cancel"), {"cancel-reason": "  "})
    assert response.status_code == 400
    assert "Say why the batch is cancelled." in _text(response)
    batch.refresh_from_db()
    assert batch.status == "draft"


def test_cancel_releases_the_work_and_a_second_cancel_is_a_conflict(as_finance, work, finance):
    batch = build(by=finance)
    url = _batch_url(batch, "payments:batch_cancel")
    assert as_finance.post(url, {"cancel-reason": "Wrong cut-off"}).status_code == 302
    batch.refresh_from_db()
    assert (batch.status, batch.cancel_reason) == ("cancelled", "Wrong cut-off")
    assert not batch.payments.filter(items__live=True).exists()
    # The same work can go into a new batch.
    assert build(by=finance).payments.count() == 1

    stale = as_finance.post(url, {"cancel-reason": "Wrong cut-off"})
    assert stale.status_code == 409
    assert "This has changed in the meantime" in _text(stale)


def test_a_stale_approve_after_cancel_is_a_conflict_not_an_error(client, work, finance, finance2):
    from payments.services.batches import batch_cancel, batch_submit

    batch = build(by=finance)
    batch_submit(batch=batch, by=finance)
    batch_cancel(batch=batch, by=finance, reason="Duplicate")
    client.force_login(finance2)
    response = client.post(_batch_url(batch, "payments:batch_approve"))
    assert response.status_code == 409


def test_history_is_in_plain_words(as_finance, work, finance, finance2):
    batch = approved_batch(builder=finance, approver=finance2)
    text = _text(as_finance.get(_batch_url(batch)))
    assert "You built this batch" in text
    assert "sent this batch for approval" in text
    assert "Tomás (finance) approved this batch" in text


def test_actions_answer_405_to_a_get(as_finance, work, finance):
    batch = build(by=finance)
    for name in ("batch_submit", "batch_approve", "batch_execute", "batch_cancel"):
        assert as_finance.get(_batch_url(batch, f"payments:{name}")).status_code == 405


def test_another_role_cannot_act_on_a_batch(client, work, finance, coordinator):
    batch = build(by=finance)
    client.force_login(coordinator)
    assert client.post(_batch_url(batch, "payments:batch_submit")).status_code == 403
    batch.refresh_from_db()
    assert batch.status == "draft"


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_batches_with_totals_and_filters_by_status(as_finance, work, finance):
    batch = build(by=finance)
    text = _text(as_finance.get(reverse("payments:home")))
    assert _batch_url(batch) in text and "143.40" in text
    filtered = _text(as_finance.get(reverse("payments:home"), {"status": "approved"}))
    assert _batch_url(batch) not in filtered


# --- query counts ---------------------------------------------------------------------------------


def _grow(n, *, coordinator, phase, rate_card):
    for i in range(n):
        consultant_with_work(
            approver=coordinator,
            name=f"Person {i:02d}",
            method=[PayoutMethod.CHECK, PayoutMethod.STRIPE, PayoutMethod.CASH][i % 3],
            phase=phase,
            rate_card=rate_card,
            items=2,
        )


def test_the_batch_page_runs_the_same_queries_for_3_or_30_payments(
    as_finance, finance, coordinator, engagement
):
    _grow(3, coordinator=coordinator, phase=engagement.phase, rate_card=engagement.rate_card)
    small = build(by=finance)
    small_count, _ = count_queries(as_finance, _batch_url(small))
    small_progress, _ = count_queries(as_finance, _batch_url(small, "payments:batch_progress"))

    _grow(30, coordinator=coordinator, phase=engagement.phase, rate_card=engagement.rate_card)
    big = build(by=finance)
    assert big.payments.count() == 30
    big_count, response = count_queries(as_finance, _batch_url(big))
    assert "Person 29" in _text(response)
    big_progress, _ = count_queries(as_finance, _batch_url(big, "payments:batch_progress"))
    assert big_count == small_count
    assert big_progress == small_progress


def test_the_batch_list_runs_the_same_queries_for_3_or_30_batches(
    as_finance, finance, coordinator, engagement
):
    for _ in range(3):
        _grow(1, coordinator=coordinator, phase=engagement.phase, rate_card=engagement.rate_card)
        build(by=finance)
    small, _ = count_queries(as_finance, reverse("payments:home"))
    for _ in range(27):
        _grow(1, coordinator=coordinator, phase=engagement.phase, rate_card=engagement.rate_card)
        build(by=finance)
    big, _ = count_queries(as_finance, reverse("payments:home"))
    assert big == small


def test_the_batch_page_never_reads_contact_details(as_finance, work, finance):
    """Consultants' contact fields are encrypted: the payment lists never load them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    batch = build(by=finance)
    with CaptureQueriesContext(connection) as ctx:
        assert as_finance.get(_batch_url(batch)).status_code == 200
    payment_queries = [q["sql"] for q in ctx.captured_queries if '"payments_payment"' in q["sql"]]
    # The payments are read with their consultant joined in, but not every column.
    assert any('"consultants_consultant"."display_name"' in sql for sql in payment_queries)
    for sql in payment_queries:
        assert '"consultants_consultant"."email"' not in sql
        assert '"consultants_consultant"."safe_contact_notes"' not in sql
