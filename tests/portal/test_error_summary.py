"""Every form a consultant fills in comes back, after a mistake, with the error summary
that portal.js focuses (``data-error-summary``), and its links lead to the fields."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consultants.models import PayoutMethod

pytestmark = pytest.mark.django_db

SUMMARY = "data-error-summary"


def _html(response):
    return response.content.decode()


def test_log_hours(consultant_client, engagement):
    html = _html(consultant_client.post(reverse("portal:log"), {}))
    assert SUMMARY in html and 'href="#id_' in html


def test_preferences(consultant_client):
    html = _html(consultant_client.post(reverse("portal:preferences"), {}))
    assert SUMMARY in html


def test_dispute(consultant_client, make_entry, engagement):
    entry = make_entry(engagement, status="approved")
    url = reverse("portal:contribution", kwargs={"public_id": entry.public_id})
    html = _html(consultant_client.post(url, {"comment": ""}))
    assert SUMMARY in html and 'href="#id_comment"' in html


def test_direct_deposit_country(consultant_client, consultant):
    consultant.payout_method = PayoutMethod.STRIPE
    consultant.save()
    response = consultant_client.post(reverse("portal:stripe_onboarding"), {"country": "XX"})
    html = _html(response)
    assert response.status_code >= 400
    assert SUMMARY in html and 'href="#id_country"' in html


def test_api_tokens_are_reached_from_preferences(consultant_client):
    html = _html(consultant_client.get(reverse("portal:preferences")))
    assert f'href="{reverse("api_tokens")}"' in html
    html = _html(consultant_client.post(reverse("api_tokens"), {"name": ""}))
    assert SUMMARY in html and 'href="#id_name"' in html
    assert f'href="{reverse("portal:preferences")}"' in html  # and back again


def test_the_signin_code_form(client):
    from allauth.account.models import EmailAddress  # noqa: F401 - allauth is installed

    html = _html(client.post(reverse("account_request_login_code"), {"email": ""}))
    assert SUMMARY in html
