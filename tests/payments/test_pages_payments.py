"""The finance page of one payment: items, attempts, history, and every action on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consultants.models import PayoutMethod
from engagements.models import Contribution
from payments.models import Payment, PaymentAttempt, StripeAccount
from payments.services.batches import batch_approve, batch_execute, batch_submit
from payments.services.lifecycle import payment_record_failure
from tests.factories import ConsultantFactory, EngagementFactory
from tests.payments.payout_support import (
    CUTOFF,
    PNG,
    approved,
    approved_batch,
    build,
    consultant_with_work,
    executed_batch,
    pdf_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(engagement, coordinator):
    return approved(engagement, approver=coordinator, quantity="2")


@pytest.fixture
def as_finance(client, finance):
    client.force_login(finance)
    return client


def _url(payment, name="payments:payment"):
    return reverse(name, kwargs={"public_id": payment.public_id})


def _text(response) -> str:
    return response.content.decode()


def _executed_payment(finance, finance2) -> Payment:
    return executed_batch(builder=finance, approver=finance2).payments.get()


def _record(client, payment, **overrides):
    data = {
        "record-reference": "1001",
        "record-handed_over_on": CUTOFF.isoformat(),
    }
    data.update(overrides)
    return client.post(_url(payment, "payments:payment_record"), data)


# --- reading ------------------------------------------------------------------------------


def test_the_page_shows_items_attempts_and_history(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    PaymentAttempt.objects.create(
        payment=payment,
        number=1,
        idempotency_key="honora-test-1",
        status="failed",
        error_code="insufficient_funds",
        error_message="The platform balance is too low.",
    )
    text = _text(as_finance.get(_url(payment)))
    assert "Payment to River" in text
    assert "2 × $60.00" in text and "120.00" in text
    assert "insufficient_funds" in text and "The platform balance is too low." in text
    assert "added this payment to the batch" in text
    assert "started this payment" in text


def test_recording_before_execution_is_explained_and_refused(as_finance, work, finance, finance2):
    payment = approved_batch(builder=finance, approver=finance2).payments.get()
    text = _text(as_finance.get(_url(payment)))
    assert "Execute the batch before recording the hand-over." in text
    response = _record(as_finance, payment)
    assert response.status_code == 409
    payment.refresh_from_db()
    assert payment.status == "pending"


# --- recording a hand-over ---------------------------------------------------------------


def test_recording_a_check_with_proof_pays_it(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    response = _record(as_finance, payment, **{"record-proof": pdf_upload("River signed.pdf")})
    assert response.status_code == 302
    payment.refresh_from_db()
    assert (payment.status, payment.reference, payment.recorded_by) == ("paid", "1001", finance)
    assert payment.handed_over_on == CUTOFF
    # Stored under a random name: the uploaded file name is never kept.
    assert payment.proof.name.startswith("payments/proof/") and payment.proof.name.endswith(".pdf")
    assert "River" not in payment.proof.name
    work.refresh_from_db()
    assert work.status == Contribution.Status.PAID

    download = as_finance.get(_url(payment, "payments:payment_proof"))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download["Cache-Control"]
    assert b"".join(download.streaming_content).startswith(b"%PDF-")


def test_an_image_is_accepted_as_proof(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    upload = pdf_upload("photo.jpg", content=PNG, content_type="image/jpeg")
    assert _record(as_finance, payment, **{"record-proof": upload}).status_code == 302
    payment.refresh_from_db()
    assert payment.proof.name.endswith(".png")
    download = as_finance.get(_url(payment, "payments:payment_proof"))
    assert download["Content-Type"] == "image/png"


def test_proof_that_is_not_an_image_or_pdf_is_refused(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    fake = pdf_upload("proof.pdf", content=b"<html><script>alert(1)</script>")
    response = _record(as_finance, payment, **{"record-proof": fake})
    assert response.status_code == 400
    text = _text(response)
    assert "This file is none of those." in text
    assert 'value="1001"' in text  # the rest of the input is kept
    payment.refresh_from_db()
    assert payment.status == "processing" and not payment.proof


def test_proof_over_the_size_limit_is_refused(as_finance, work, finance, finance2, settings):
    settings.MAX_RECEIPT_UPLOAD_BYTES = 1024
    payment = _executed_payment(finance, finance2)
    big = pdf_upload(content=b"%PDF-1.4\n" + b"0" * 2048)
    response = _record(as_finance, payment, **{"record-proof": big})
    assert response.status_code == 400
    assert "proof can be at most 1.0" in _text(response)
    payment.refresh_from_db()
    assert payment.status == "processing"


def test_a_wrong_reference_goes_back_on_its_field(
    as_finance, engagement, coordinator, finance, finance2
):
    engagement.consultant.payout_method = PayoutMethod.PREPAID_CARD
    engagement.consultant.save()
    approved(engagement, approver=coordinator)
    payment = _executed_payment(finance, finance2)
    response = _record(as_finance, payment, **{"record-reference": "12345"})
    assert response.status_code == 400
    assert "Enter only the card&#x27;s last four digits." in _text(response)


def test_a_future_hand_over_date_is_refused(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = _record(as_finance, payment, **{"record-handed_over_on": tomorrow})
    assert response.status_code == 400
    assert "The hand-over date cannot be in the future." in _text(response)


def test_recording_a_payment_to_yourself_is_refused(client, finance, finance2, coordinator):
    me = ConsultantFactory(user=finance2, display_name="Tomás as consultant")
    approved(EngagementFactory(consultant=me), approver=coordinator)
    # Built and executed by finance, approved by a third finance person.
    from tests.factories import UserFactory

    third = UserFactory(roles=["finance"])
    batch = build(by=finance)
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=third)
    batch_execute(batch=batch, by=finance)
    payment = batch.payments.get()

    client.force_login(finance2)
    text = _text(client.get(_url(payment)))
    assert "Nobody records a payment to themselves." in text
    assert _url(payment, "payments:payment_record") not in text
    response = _record(client, payment)
    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.status == "processing"


def test_recording_twice_is_a_conflict(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    assert _record(as_finance, payment).status_code == 302
    stale = _record(as_finance, payment, **{"record-reference": "1002"})
    assert stale.status_code == 409
    payment.refresh_from_db()
    assert payment.reference == "1001"


# --- voiding ---------------------------------------------------------------------------------


def test_void_needs_a_reason(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    response = as_finance.post(_url(payment, "payments:payment_void"), {"void-reason": ""})
    assert response.status_code == 400
    assert "Say why the payment is voided." in _text(response)
    # The void form is folded away on the page, and opens itself to show what to fix.
    assert '<details class="payment-void" open>' in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == "processing"
    page = as_finance.get(_url(payment, "payments:payment")).content.decode()
    assert '<details class="payment-void">' in page


def test_void_releases_the_work_and_a_second_void_is_a_conflict(
    as_finance, work, finance, finance2
):
    # Voided before it was handed over (a paid payment is returned, never voided).
    payment = _executed_payment(finance, finance2)
    url = _url(payment, "payments:payment_void")
    assert as_finance.post(url, {"void-reason": "Check lost in the mail"}).status_code == 302
    payment.refresh_from_db()
    assert (payment.status, payment.closed_reason) == ("voided", "Check lost in the mail")
    work.refresh_from_db()
    assert work.status == Contribution.Status.APPROVED
    assert "voided this payment" in _text(as_finance.get(_url(payment)))
    assert as_finance.post(url, {"void-reason": "again"}).status_code == 409


# --- holds, cancelling, retrying ----------------------------------------------------------------


@pytest.fixture
def held(finance, coordinator):
    consultant = consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    batch = build(by=finance)
    return batch.payments.get(consultant=consultant)


def test_release_checks_again_and_refuses_while_the_reason_stands(as_finance, held):
    assert held.status == "held"
    page = _text(as_finance.get(_url(held)))
    assert "The consultant has not started Stripe onboarding." in page
    response = as_finance.post(_url(held, "payments:payment_release"))
    assert response.status_code == 409
    assert "Still on hold" in _text(response)

    StripeAccount.objects.create(
        consultant=held.consultant,
        account_id="acct_ready",
        payouts_enabled=True,
        transfers_active=True,
    )
    assert as_finance.post(_url(held, "payments:payment_release")).status_code == 302
    held.refresh_from_db()
    assert (held.status, held.hold_reason) == ("pending", "")
    assert "released the hold" in _text(as_finance.get(_url(held)))


def test_cancel_a_held_payment_with_a_reason(as_finance, held):
    url = _url(held, "payments:payment_cancel")
    missing = as_finance.post(url, {"cancel-reason": ""})
    assert missing.status_code == 400 and "Say why the payment is cancelled." in _text(missing)
    assert as_finance.post(url, {"cancel-reason": "Paid by check instead"}).status_code == 302
    held.refresh_from_db()
    assert held.status == "cancelled"
    assert not held.items.filter(live=True).exists()
    assert as_finance.post(url, {"cancel-reason": "again"}).status_code == 409


def test_a_failed_stripe_payment_can_be_retried(as_finance, finance, finance2, coordinator):
    consultant = consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    StripeAccount.objects.create(
        consultant=consultant, account_id="acct_wren", payouts_enabled=True, transfers_active=True
    )
    payment = _executed_payment(finance, finance2)
    payment_record_failure(payment=payment, code="account_closed", message="Closed.")
    text = _text(as_finance.get(_url(payment)))
    assert "account_closed" in text and _url(payment, "payments:payment_retry") in text
    assert as_finance.post(_url(payment, "payments:payment_retry")).status_code == 302
    payment.refresh_from_db()
    assert payment.status == "processing"
    assert "tried this payment again" in _text(as_finance.get(_url(payment)))


def test_retrying_a_manual_payment_is_refused(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    response = as_finance.post(_url(payment, "payments:payment_retry"))
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == "processing"


# --- who may see ------------------------------------------------------------------------------


def test_proof_is_for_finance_only(
    client, work, finance, finance2, consultant, coordinator, admin_user
):
    payment = _executed_payment(finance, finance2)
    client.force_login(finance)
    _record(client, payment, **{"record-proof": pdf_upload()})
    for user in (consultant.user, coordinator, admin_user):
        client.force_login(user)
        assert client.get(_url(payment, "payments:payment_proof")).status_code == 403


def test_a_payment_without_proof_has_no_download(as_finance, work, finance, finance2):
    payment = _executed_payment(finance, finance2)
    assert as_finance.get(_url(payment, "payments:payment_proof")).status_code == 404


# --- Stripe onboarding status ------------------------------------------------------------------


def test_onboarding_status_per_consultant_without_personal_data(as_finance, db):
    none = ConsultantFactory(
        display_name="Ash", payout_method=PayoutMethod.STRIPE, email="ash@example.net"
    )
    onboarding = ConsultantFactory(display_name="Bay", payout_method=PayoutMethod.STRIPE)
    ready = ConsultantFactory(display_name="Cove", payout_method=PayoutMethod.STRIPE)
    ConsultantFactory(display_name="Dune", payout_method=PayoutMethod.CHECK)
    StripeAccount.objects.create(
        consultant=onboarding, account_id="acct_bay", requirements_due=["external_account"]
    )
    StripeAccount.objects.create(
        consultant=ready, account_id="acct_cove", payouts_enabled=True, transfers_active=True
    )
    text = _text(as_finance.get(reverse("payments:stripe_status")))
    rows = {name: text.split(name, 1)[1].split("</tr>", 1)[0] for name in ("Ash", "Bay", "Cove")}
    assert "Not started" in rows["Ash"]
    assert "Onboarding" in rows["Bay"]
    assert "Ready" in rows["Cove"]
    assert "Dune" not in text
    assert "ash@example.net" not in text and "acct_" not in text
    assert none.public_id  # linked by opaque id only
