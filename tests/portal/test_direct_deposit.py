"""Direct deposit on /me/payments/: one plain state, from what Stripe's webhooks stored.

Four states a consultant can be in (not started, started, checking, needs attention)
and ready; never "checking" beside a "Resume setup" button, and coming back from
Stripe says exactly what a reload says.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from consultants.models import PayoutMethod
from payments.models import StripeAccount
from portal.selectors import DepositState, deposit_state

pytestmark = pytest.mark.django_db

PAGE = "portal:payments"
CHECKING = "Stripe is checking your details"
READY = "Direct deposit is ready: payments will go to the bank account you gave Stripe."
ATTENTION = "Stripe needs a little more from you"
RESUME = "Resume setup"
SET_UP = "Set up direct deposit"
NOT_FINISHED = "have not finished Stripe’s form yet"


@pytest.fixture
def on_stripe(consultant):
    consultant.payout_method = PayoutMethod.STRIPE
    consultant.save()
    return consultant


def _account(consultant, **fields):
    return StripeAccount.objects.create(consultant=consultant, account_id="acct_river", **fields)


def _page(client, query=""):
    response = client.get(reverse(PAGE) + query)
    assert response.status_code == 200
    # Only the direct-deposit box, so the words are checked where they belong.
    html = response.content.decode()
    box = re.search(r'<section class="deposit.*?</section>', html, re.S)
    return box.group(0) if box else ""


def _current_step(box):
    return re.search(r'usa-step-indicator__current-step">(\d)<', box).group(1)


def test_not_started(consultant_client, on_stripe):
    box = _page(consultant_client)
    assert SET_UP in box and "Country where you will receive payments" in box
    for word in (RESUME, CHECKING, READY, ATTENTION):
        assert word not in box
    assert _current_step(box) == "1"


def test_started_asks_to_resume(consultant_client, on_stripe):
    _account(on_stripe)
    box = _page(consultant_client)
    assert RESUME in box and NOT_FINISHED in box
    for word in (SET_UP, CHECKING, READY, ATTENTION):
        assert word not in box
    assert "Country where" not in box  # chosen once, when the account was made
    assert _current_step(box) == "2"


def test_checking_has_no_resume_button(consultant_client, on_stripe):
    _account(on_stripe, details_submitted=True)
    box = _page(consultant_client)
    assert CHECKING in box
    for word in (RESUME, SET_UP, READY, ATTENTION, "<form"):
        assert word not in box
    assert _current_step(box) == "3"


def test_needs_attention_says_what_to_do(consultant_client, on_stripe):
    _account(on_stripe, details_submitted=True, requirements_due=["individual.id_number"])
    box = _page(consultant_client)
    assert ATTENTION in box and RESUME in box and "usa-alert--warning" in box
    for word in (CHECKING, READY, SET_UP):
        assert word not in box
    # Stripe's field names are not shown: they mean nothing to the person.
    assert "individual.id_number" not in box


def test_ready_says_so_plainly(consultant_client, on_stripe):
    _account(on_stripe, details_submitted=True, payouts_enabled=True, transfers_active=True)
    box = _page(consultant_client)
    assert READY in box and "usa-alert--success" in box
    for word in (RESUME, SET_UP, CHECKING, ATTENTION, "<form"):
        assert word not in box
    assert _current_step(box) == "4"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"details_submitted": True},
        {"details_submitted": True, "requirements_due": ["external_account"]},
        {"details_submitted": True, "payouts_enabled": True, "transfers_active": True},
    ],
)
def test_coming_back_from_stripe_says_what_a_reload_says(consultant_client, on_stripe, fields):
    _account(on_stripe, **fields)
    back = _page(consultant_client, "?stripe=return")
    reload = _page(consultant_client)
    # The same state, step and button; coming back may only add a note while not finished.
    assert _current_step(back) == _current_step(reload)
    for word in (RESUME, SET_UP, CHECKING, READY, ATTENTION):
        assert (word in back) == (word in reload), word
    assert not (CHECKING in back and RESUME in back)


def test_no_box_for_other_methods(consultant_client, consultant):
    consultant.payout_method = PayoutMethod.CHECK
    consultant.save()
    assert _page(consultant_client) == ""


def test_the_states_from_the_stored_fields(consultant):
    assert deposit_state(None) == DepositState.NOT_STARTED
    account = StripeAccount(consultant=consultant, account_id="acct_x")
    assert deposit_state(account) == DepositState.STARTED
    account.details_submitted = True
    assert deposit_state(account) == DepositState.CHECKING
    account.requirements_due = ["individual.dob.day"]
    assert deposit_state(account) == DepositState.NEEDS_ATTENTION
    account.requirements_due = []
    account.payouts_enabled = account.transfers_active = True
    assert deposit_state(account) == DepositState.READY
