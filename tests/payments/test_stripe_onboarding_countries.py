"""Onboarding that real Stripe accepts: the service agreement follows the platform's and the
consultant's countries, the country is asked once, and Stripe's refusals reach finance.

The sandbox enforces Stripe's rules (tests/stripe_sandbox/test_sandbox_rules.py), so an
account Honora creates here is one Stripe would create.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from consultants.models import PayoutMethod
from core.append_only import AppendOnlyError
from core.errors import StateConflict, ValidationFailed
from payments.models import StripeAccount, StripeSetupFailure
from payments.stripe.accounts import (
    allowed_countries,
    stripe_account_params,
    stripe_onboarding_link,
)
from payments.stripe.countries import CROSS_BORDER_COUNTRIES, CountryRefused
from tests.factories import ConsultantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(stripe_settings):
    user = UserFactory(roles=["consultant"])
    return ConsultantFactory(user=user, payout_method=PayoutMethod.STRIPE, display_name="Wren")


def _account_requests(sandbox):
    return [r for r in sandbox.requests if r["path"] == "/v1/accounts"]


# --- the rule ------------------------------------------------------------------------------


def test_same_country_is_full_and_cross_border_is_recipient_with_transfers_only(settings):
    settings.STRIPE_PLATFORM_COUNTRY = "US"
    us = stripe_account_params(country="US", metadata={"honora_consultant": "c"})
    assert us == {
        "type": "express",
        "country": "US",
        "capabilities": {"transfers": {"requested": True}},
        "tos_acceptance": {"service_agreement": "full"},
        "metadata": {"honora_consultant": "c"},
    }
    gb = stripe_account_params(country="GB")
    assert gb["tos_acceptance"] == {"service_agreement": "recipient"}
    assert gb["capabilities"] == {"transfers": {"requested": True}}
    with pytest.raises(CountryRefused):
        stripe_account_params(country="JP")  # not a cross-border payouts country
    settings.STRIPE_PLATFORM_COUNTRY = "GB"
    assert stripe_account_params(country="GB")["tos_acceptance"]["service_agreement"] == "full"
    assert stripe_account_params(country="US")["tos_acceptance"]["service_agreement"] == (
        "recipient"
    )


def test_the_countries_offered_follow_the_platform(settings):
    settings.STRIPE_PLATFORM_COUNTRY = "US"
    codes = [code for code, _name in allowed_countries()]
    assert codes[0] == "US" and "FR" in codes and "GB" in codes
    assert set(codes) == CROSS_BORDER_COUNTRIES
    # A platform outside the cross-border regions pays only its own country.
    settings.STRIPE_PLATFORM_COUNTRY = "JP"
    assert allowed_countries() == [("JP", "Japan")]


# --- with the sandbox ---------------------------------------------------------------------


def test_a_us_consultant_gets_the_full_agreement(me, stripe_sandbox):
    stripe_onboarding_link(consultant=me, by=me.user)
    sa = StripeAccount.objects.get(consultant=me)
    assert sa.country == "US"
    acct = stripe_sandbox.account(sa.account_id)
    assert acct["country"] == "US"
    assert acct["tos_acceptance"]["service_agreement"] == "full"
    assert set(acct["capabilities"]) == {"transfers"}
    assert not StripeSetupFailure.objects.exists()


def test_a_consultant_abroad_gets_the_recipient_agreement(me, stripe_sandbox):
    stripe_onboarding_link(consultant=me, by=me.user, country="fr")
    sa = StripeAccount.objects.get(consultant=me)
    assert sa.country == "FR"
    acct = stripe_sandbox.account(sa.account_id)
    assert acct["country"] == "FR"
    assert acct["tos_acceptance"]["service_agreement"] == "recipient"
    assert set(acct["capabilities"]) == {"transfers"}


@pytest.mark.parametrize("country", ["JP", "XX", "USA", "<b>"])
def test_a_country_stripe_would_refuse_is_refused_before_calling_it(me, stripe_sandbox, country):
    with pytest.raises(ValidationFailed) as caught:
        stripe_onboarding_link(consultant=me, by=me.user, country=country)
    assert caught.value.field == "country" and caught.value.status == 400
    assert "not available for that country" in caught.value.message
    assert not StripeAccount.objects.exists()
    assert stripe_sandbox.requests == []  # Stripe was never asked


def test_once_the_account_exists_its_country_stays(me, stripe_sandbox):
    first = stripe_onboarding_link(consultant=me, by=me.user, country="CA")
    # Resuming sends the same country (or none) and gets a fresh link.
    assert stripe_onboarding_link(consultant=me, by=me.user) != first
    assert stripe_onboarding_link(consultant=me, by=me.user, country="CA")
    with pytest.raises(ValidationFailed) as caught:
        stripe_onboarding_link(consultant=me, by=me.user, country="US")
    assert caught.value.field == "country"
    assert "cannot change" in caught.value.message
    assert StripeAccount.objects.get(consultant=me).country == "CA"
    assert len(_account_requests(stripe_sandbox)) == 1


def test_a_refused_account_shows_stripe_s_words_to_finance_and_in_the_log(
    me, stripe_sandbox, settings, caplog, finance
):
    # Honora thinks it is a US platform; the Stripe account is really in the UK, so
    # Stripe refuses a US account under the full agreement (a cross-border one).
    stripe_sandbox.state.platform_country = "GB"
    with (
        caplog.at_level(logging.WARNING, logger="payments"),
        pytest.raises(StateConflict) as caught,
    ):
        stripe_onboarding_link(consultant=me, by=me.user)
    # The consultant is told plainly, with no Stripe internals.
    assert caught.value.code == "stripe_unavailable"
    assert "service agreement" not in caught.value.message
    assert not StripeAccount.objects.exists()

    [failure] = StripeSetupFailure.objects.filter(consultant=me)
    assert failure.step == "account"
    assert failure.http_status == 400
    assert failure.error_type == "invalid_request_error"
    assert failure.request_id.startswith("req_")
    assert "`full` service agreement" in failure.message
    [request] = _account_requests(stripe_sandbox)
    assert request["status"] == 400

    [record] = [r for r in caplog.records if "stripe set-up failed" in r.getMessage()]
    logged = record.getMessage()
    assert "http_status=400" in logged and f"request_id={failure.request_id}" in logged
    assert "`full` service agreement" in logged
    assert "invalid_request_error" in logged
    assert "Wren" not in logged and me.user.email not in logged  # nothing personal

    # Finance sees the latest refusal on the set-up status page.
    as_finance = Client()
    as_finance.force_login(finance)
    text = as_finance.get(reverse("payments:stripe_status")).content.decode()
    row = text.split("Wren", 1)[1].split("</tr>", 1)[0]
    assert "`full` service agreement" in row

    # The consultant's own page keeps to the friendly words.
    mine = Client()
    mine.force_login(me.user)
    response = mine.post(reverse("portal:stripe_onboarding"), follow=True)
    page = response.content.decode()
    assert "Stripe could not start the set-up just now" in page
    assert "service agreement" not in page and "req_" not in page
    assert StripeSetupFailure.objects.filter(consultant=me).count() == 2


def test_the_newest_refusal_is_the_one_shown(me, stripe_sandbox, finance):
    stripe_sandbox.faults.add("error", status=503, should_retry=True, path="/v1/accounts")
    with pytest.raises(StateConflict):
        stripe_onboarding_link(consultant=me, by=me.user)
    stripe_sandbox.state.platform_country = "GB"
    with pytest.raises(StateConflict):
        stripe_onboarding_link(consultant=me, by=me.user)
    older, newer = StripeSetupFailure.objects.filter(consultant=me).order_by("at", "id")
    assert older.http_status == 503 and newer.http_status == 400
    as_finance = Client()
    as_finance.force_login(finance)
    text = as_finance.get(reverse("payments:stripe_status")).content.decode()
    row = text.split("Wren", 1)[1].split("</tr>", 1)[0]
    assert "service agreement" in row and older.message not in row


def test_a_refusal_is_never_edited_or_deleted(me):
    failure = StripeSetupFailure.objects.create(
        consultant=me, step="account", code="x", message="refused"
    )
    failure.message = "changed"
    with pytest.raises(AppendOnlyError):
        failure.save()
    with pytest.raises(AppendOnlyError):
        failure.delete()
    with pytest.raises(AppendOnlyError):
        StripeSetupFailure.objects.filter(pk=failure.pk).update(code="y")


def test_a_failed_link_is_kept_too(me, stripe_sandbox):
    stripe_onboarding_link(consultant=me, by=me.user)
    stripe_sandbox.faults.add("error", status=500, path="/v1/account_links")
    with pytest.raises(StateConflict):
        stripe_onboarding_link(consultant=me, by=me.user)
    [failure] = StripeSetupFailure.objects.all()
    assert failure.step == "link" and failure.http_status == 500


def test_the_refusal_column_is_for_finance_only(me, client, consultant, outsider_user):
    StripeSetupFailure.objects.create(
        consultant=me, step="account", code="secret_code", message="Stripe said no"
    )
    for user in (me.user, consultant.user, outsider_user):
        client.force_login(user)
        response = client.get(reverse("payments:stripe_status"))
        assert response.status_code in (302, 403)
        assert b"Stripe said no" not in response.content


# --- the consultant's page -------------------------------------------------------------------


def test_the_portal_asks_the_country_once_from_the_allowed_list(me, stripe_sandbox):
    mine = Client()
    mine.force_login(me.user)
    page = mine.get(reverse("portal:payments")).content.decode()
    assert 'name="country"' in page
    assert '<option value="US" selected>' in page and '<option value="FR">' in page
    assert 'value="JP"' not in page
    response = mine.post(reverse("portal:stripe_onboarding"), {"country": "FR"})
    assert response.status_code == 302 and response["Location"].startswith(stripe_sandbox.url)
    sa = StripeAccount.objects.get(consultant=me)
    assert sa.country == "FR"
    assert stripe_sandbox.account(sa.account_id)["tos_acceptance"]["service_agreement"] == (
        "recipient"
    )
    # Started: the choice is no longer offered.
    assert 'name="country"' not in mine.get(reverse("portal:payments")).content.decode()


def test_the_portal_refuses_a_country_not_offered_with_a_400(me, stripe_sandbox):
    mine = Client()
    mine.force_login(me.user)
    response = mine.post(reverse("portal:stripe_onboarding"), {"country": "JP"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "not available for that country" in page and 'aria-invalid="true"' in page
    assert not StripeAccount.objects.exists() and stripe_sandbox.requests == []
