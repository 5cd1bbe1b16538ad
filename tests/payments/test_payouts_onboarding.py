"""Stripe onboarding: one Express account per consultant, a fresh link each time."""

from __future__ import annotations

import pytest

from consultants.models import PayoutMethod
from core.errors import NotAllowed, StateConflict, ValidationFailed
from payments.models import StripeAccount, StripeSetupFailure
from payments.stripe.accounts import stripe_onboarding_link
from tests.factories import ConsultantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(stripe_settings):
    user = UserFactory(roles=["consultant"])
    return ConsultantFactory(user=user, payout_method=PayoutMethod.STRIPE)


def test_the_link_creates_the_account_once_and_returns_a_fresh_link(me, stripe_sandbox, settings):
    settings.SITE_URL = "https://honora.example.org"
    first = stripe_onboarding_link(consultant=me, by=me.user)
    second = stripe_onboarding_link(consultant=me, by=me.user)
    assert first != second and first.startswith(stripe_sandbox.url + "/onboarding/")
    [sa] = StripeAccount.objects.filter(consultant=me)
    assert not sa.ready and sa.requirements_due
    assert list(stripe_sandbox.state.accounts) == [sa.account_id]
    created = [r for r in stripe_sandbox.requests if r["path"] == "/v1/accounts"]
    assert [r["idempotency_key"] for r in created] == [f"honora-account-{me.public_id}"]
    links = stripe_sandbox.state.links.values()
    assert {link["return_url"] for link in links} == {
        "https://honora.example.org/me/payments/?stripe=return"
    }
    assert {link["refresh_url"] for link in links} == {
        "https://honora.example.org/me/payments/?stripe=refresh"
    }
    assert {link["type"] for link in links} == {"account_onboarding"}


def test_the_page_may_name_its_own_return_urls(me, stripe_sandbox):
    stripe_onboarding_link(
        consultant=me,
        by=me.user,
        return_url="http://127.0.0.1:8000/me/payout-setup/done",
        refresh_url="http://127.0.0.1:8000/me/payout-setup/again",
    )
    [link] = stripe_sandbox.state.links.values()
    assert link["return_url"].endswith("/done") and link["refresh_url"].endswith("/again")
    with pytest.raises(ValidationFailed):
        stripe_onboarding_link(consultant=me, by=me.user, return_url="/relative")


def test_finance_may_start_it_but_another_consultant_may_not(me, finance, outsider_user):
    assert stripe_onboarding_link(consultant=me, by=finance)
    with pytest.raises(NotAllowed):
        stripe_onboarding_link(consultant=me, by=outsider_user)


def test_only_for_direct_deposit(stripe_settings):
    user = UserFactory(roles=["consultant"])
    c = ConsultantFactory(user=user, payout_method=PayoutMethod.CHECK)
    with pytest.raises(ValidationFailed):
        stripe_onboarding_link(consultant=c, by=user)
    assert not StripeAccount.objects.exists()


def test_without_stripe_or_when_stripe_fails_it_says_so(me, settings, stripe_sandbox):
    settings.STRIPE_ENABLED = False
    with pytest.raises(StateConflict) as caught:
        stripe_onboarding_link(consultant=me, by=me.user)
    assert caught.value.code == "stripe_off"
    settings.STRIPE_ENABLED = True
    stripe_sandbox.faults.add("error", status=503, should_retry=True, path="/v1/accounts")
    with pytest.raises(StateConflict) as caught:
        stripe_onboarding_link(consultant=me, by=me.user)
    assert caught.value.code == "stripe_unavailable"
    assert not StripeAccount.objects.exists()
    # What Stripe said is kept for finance (the consultant saw only the plain words).
    [failure] = StripeSetupFailure.objects.filter(consultant=me)
    assert failure.step == "account" and failure.http_status == 503
    assert failure.request_id.startswith("req_")
