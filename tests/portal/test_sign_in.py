"""The sign-in pages: calm, code first, no sign-up, nothing said about the study."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.portal.conftest import text

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_offers_an_emailed_code_first_and_no_sign_up(client):
    response = client.get(reverse("account_login"))
    body = response.content.decode()
    assert response.status_code == 200
    code_link = body.index(reverse("account_request_login_code"))
    password_form = body.index('name="password"')
    assert code_link < password_form
    assert "E-mail me a sign-in code" in text(response)
    assert reverse("account_signup") not in body
    assert "sign up" not in text(response).lower()
    assert re.search(r"<title>\s*Sign in · Honora\s*</title>", body)


def test_a_wrong_password_is_explained_and_the_address_kept(client, consultant_user):
    response = client.post(
        reverse("account_login"), {"login": consultant_user.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert "Please check the form" in text(response)
    assert f'value="{consultant_user.email}"' in response.content.decode()


def test_the_code_email_says_nothing_about_the_study(client, consultant):
    response = client.post(reverse("account_request_login_code"), {"email": consultant.user.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    message = mail.outbox[-1]
    assert message.subject == "Your sign-in code"
    words = (message.subject + message.body).lower()
    assert not any(w in words for w in ("traffick", "survivor", "study", "research"))
    assert re.search(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", message.body, re.M)
    # the confirm page does not print the address on screen
    page = client.get(response["Location"])
    assert consultant.user.email not in page.content.decode()


def test_signing_in_by_code_lands_on_the_portal(client, consultant):
    client.post(reverse("account_request_login_code"), {"email": consultant.user.email})
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mail.outbox[-1].body, re.M).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert "You are signed in." in text(response)
    assert consultant.display_name not in text(response).split("Your work and pay")[0]
