"""The consultant's payments page: only their own, in neutral words, and direct-deposit setup."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import resolve, reverse

from consultants.models import CapPeriod, PayoutMethod
from payments.models import StripeAccount
from payments.services.finance import payment_mark_returned, payment_record_manual
from payments.stripe import accounts as stripe_accounts
from portal.views import payments as portal_views
from tests.payments.payout_support import (
    CUTOFF,
    approved,
    build,
    consultant_with_work,
    count_queries,
    executed_batch,
)

pytestmark = pytest.mark.django_db

SETUP_URL = "https://connect.stripe.test/setup/s_123"


def test_the_portal_routes_here():
    assert resolve("/me/payments/").func is portal_views.my_payments


@pytest.fixture
def mine(client, consultant):
    client.force_login(consultant.user)
    return client


def _text(response) -> str:
    return response.content.decode()


def test_it_lists_only_my_payments_with_items(
    mine, engagement, outsider_engagement, coordinator, finance, finance2
):
    approved(engagement, approver=coordinator, quantity="2", activity="meeting")
    approved(
        engagement, approver=coordinator, kind="reimbursement", quantity="23.40", activity="travel"
    )
    approved(outsider_engagement, approver=coordinator, quantity="7")
    batch = executed_batch(builder=finance, approver=finance2)
    payment_record_manual(
        payment=batch.payments.get(consultant=engagement.consultant),
        by=finance,
        reference="1001",
        handed_over_on=date(2026, 4, 2),
    )
    text = _text(mine.get(reverse("portal:payments")))
    assert "$143.40" in text and "Paid" in text and "Check" in text
    assert "2 April 2026" in text
    assert "2 hours × $60.00" in text and "Meeting" in text
    assert "Reimbursements (paid back, not income)" in text and "$23.40" in text
    # Not the outsider's payment.
    assert "$420.00" not in text and "Sol" not in text


def test_a_payment_on_its_way(mine, engagement, coordinator, finance, finance2):
    approved(engagement, approver=coordinator)
    executed_batch(builder=finance, approver=finance2)
    assert "On its way" in _text(mine.get(reverse("portal:payments")))


def test_a_w9_hold_is_said_neutrally(mine, engagement, coordinator, finance, settings):
    settings.TAX_FORM_ORG_THRESHOLD = 0
    approved(engagement, approver=coordinator)
    payment = build(by=finance).payments.get()
    assert payment.hold_reason == "w9_missing"
    text = _text(mine.get(reverse("portal:payments")))
    assert "On hold: we need a tax form (W-9) from you" in text
    # Finance's working note stays with finance.
    assert payment.hold_detail not in text and "threshold" not in text


def test_a_benefits_cap_hold_says_they_may_have_chosen_to_wait(
    mine, consultant, engagement, coordinator, finance
):
    consultant.benefits_cap_amount = 50
    consultant.benefits_cap_period = CapPeriod.MONTHLY
    consultant.save()
    approved(engagement, approver=coordinator)
    assert build(by=finance).payments.get().hold_reason == "benefits_cap"
    text = _text(mine.get(reverse("portal:payments")))
    assert "go over the limit you set for yourself" in text
    assert "you may have chosen to be paid later" in text.lower()


def test_a_returned_payment_will_be_paid_again(mine, engagement, coordinator, finance, finance2):
    approved(engagement, approver=coordinator)
    payment = executed_batch(builder=finance, approver=finance2).payments.get()
    payment_record_manual(payment=payment, by=finance, reference="1001", handed_over_on=CUTOFF)
    payment_mark_returned(payment=payment, by=finance2, reason="Check returned by the bank")
    text = _text(mine.get(reverse("portal:payments")))
    assert "Returned — this will be paid again in a later payment" in text
    assert "Check returned by the bank" not in text


def test_no_payments_yet(mine):
    assert "No payments yet" in _text(mine.get(reverse("portal:payments")))


def test_staff_have_no_portal_payments(client, finance):
    client.force_login(finance)
    assert client.get(reverse("portal:payments")).status_code == 404


def test_the_page_is_never_cached(mine):
    assert "no-store" in mine.get(reverse("portal:payments"))["Cache-Control"]


# --- direct deposit ------------------------------------------------------------------------


def _choose_stripe(consultant):
    consultant.payout_method = PayoutMethod.STRIPE
    consultant.save()


def test_set_up_direct_deposit_button_when_not_started(mine, consultant):
    _choose_stripe(consultant)
    text = _text(mine.get(reverse("portal:payments")))
    assert "Set up direct deposit" in text
    assert f'action="{reverse("portal:stripe_onboarding")}"' in text and 'method="post"' in text


def test_resume_setup_when_started_and_nothing_when_ready(mine, consultant):
    _choose_stripe(consultant)
    account = StripeAccount.objects.create(consultant=consultant, account_id="acct_river")
    assert "Resume setup" in _text(mine.get(reverse("portal:payments")))
    account.payouts_enabled = account.transfers_active = True
    account.save()
    text = _text(mine.get(reverse("portal:payments")))
    assert "Resume setup" not in text and "Set up direct deposit" not in text


def test_no_button_for_other_methods(mine, consultant):
    assert "Set up direct deposit" not in _text(mine.get(reverse("portal:payments")))


def test_the_button_sends_me_to_the_setup_link(mine, consultant, monkeypatch):
    _choose_stripe(consultant)
    calls = []

    def link(*, consultant, by, **kwargs):
        calls.append((consultant, by))
        return SETUP_URL

    monkeypatch.setattr(stripe_accounts, "stripe_onboarding_link", link)
    response = mine.post(reverse("portal:stripe_onboarding"))
    assert response.status_code == 302 and response["Location"] == SETUP_URL
    assert calls == [(consultant, consultant.user)]


def test_setup_is_post_only_and_csrf_protected(consultant, monkeypatch):
    _choose_stripe(consultant)
    monkeypatch.setattr(stripe_accounts, "stripe_onboarding_link", lambda **kw: SETUP_URL)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(consultant.user)
    assert strict.get(reverse("portal:stripe_onboarding")).status_code == 405
    assert strict.post(reverse("portal:stripe_onboarding")).status_code == 403


def test_a_stripe_outage_comes_back_as_a_message(mine, consultant, monkeypatch):
    from core.errors import StateConflict

    _choose_stripe(consultant)

    def down(**kwargs):
        raise StateConflict("Stripe could not start the set-up just now.")

    monkeypatch.setattr(stripe_accounts, "stripe_onboarding_link", down)
    response = mine.post(reverse("portal:stripe_onboarding"), follow=True)
    assert "Stripe could not start the set-up just now." in _text(response)


def test_setup_for_another_method_asks_to_choose_direct_deposit(mine, consultant, monkeypatch):
    monkeypatch.setattr(stripe_accounts, "stripe_onboarding_link", lambda **kw: SETUP_URL)
    response = mine.post(reverse("portal:stripe_onboarding"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:payments")


def test_coming_back_from_stripe(mine, consultant):
    # The page says what the webhooks stored (tests/portal/test_direct_deposit.py):
    # "checking" once Stripe has the details, and then no "Resume setup" beside it.
    _choose_stripe(consultant)
    StripeAccount.objects.create(
        consultant=consultant, account_id="acct_river", details_submitted=True
    )
    text = _text(mine.get(reverse("portal:payments") + "?stripe=return"))
    assert "Stripe is checking your details" in text and "Resume setup" not in text


# --- query counts ---------------------------------------------------------------------------


def test_the_page_runs_the_same_queries_for_3_or_30_payments(
    mine, engagement, coordinator, finance
):
    def pay_once(day):
        approved(engagement, approver=coordinator, day=day)
        approved(engagement, approver=coordinator, kind="reimbursement", quantity="5", day=day)
        build(by=finance, cutoff_date=day)

    for i in range(3):
        pay_once(date(2026, 1, 1 + i))
    small, _ = count_queries(mine, reverse("portal:payments"))
    for i in range(27):
        pay_once(date(2026, 2, 1 + i % 28) if i < 28 else date(2026, 3, 1))
    big, response = count_queries(mine, reverse("portal:payments"))
    assert response.content.decode().count('class="payment-card"') == 30
    assert big == small


def test_an_outsider_sees_none_of_the_owners(client, outsider, engagement, coordinator, finance):
    approved(engagement, approver=coordinator)
    consultant_with_work(approver=coordinator, name="Other")
    build(by=finance)
    client.force_login(outsider.user)
    text = _text(client.get(reverse("portal:payments")))
    assert "No payments yet" in text
