"""Signing in through the real pages: password, e-mailed code, TOTP, limits and sessions."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

import config.settings as production_settings
from demo.accounts import current_totp_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py


def signed_in_user_id(client: Client):
    return client.session.get("_auth_user_id")


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


CODE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.MULTILINE)


def emailed_code(message) -> str:
    return CODE.search(message.body).group(1)


# --- sign-up and sign-in ------------------------------------------------------------


def test_sign_up_is_closed():
    client = Client()
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert "Sign Up Closed" in response.text
    assert 'name="password1"' not in response.text

    response = client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.org", "password1": "a long pass phrase 42"},
    )
    assert not get_user_model().objects.filter(email="newcomer@example.org").exists()
    assert signed_in_user_id(client) is None


def test_sign_in_by_email_and_password(coordinator):
    client = Client()
    response = sign_in(client, "Coordinator@Example.org")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(coordinator.pk)


def test_a_wrong_password_does_not_sign_in(coordinator):
    client = Client()
    response = sign_in(client, coordinator.email, "not the password")
    assert response.status_code == 200
    assert signed_in_user_id(client) is None


def test_sign_in_by_emailed_code(consultant_user):
    client = Client()
    response = client.post(reverse("account_request_login_code"), {"email": consultant_user.email})
    assert response.status_code == 302
    assert response.url == reverse("account_confirm_login_code")
    assert signed_in_user_id(client) is None

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [consultant_user.email]
    # The subject says nothing about who or what (ARCHITECTURE.md, invariant 9).
    assert "code" in message.subject.lower()
    for personal in ("consultant", "example.org", consultant_user.email, consultant_user.name):
        assert personal.lower() not in message.subject.lower()
    for study_word in ("trafficking", "survivor", "study"):
        assert study_word not in message.subject.lower()
    code = emailed_code(message)
    assert code not in message.subject

    response = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"})
    assert signed_in_user_id(client) is None
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(consultant_user.pk)


def test_an_invited_person_without_a_password_signs_in_by_code(db):
    invited = UserFactory(email="invited@example.org", roles=["consultant"])
    invited.set_unusable_password()
    invited.save()
    client = Client()
    assert sign_in(client, invited.email, "").status_code == 200
    assert signed_in_user_id(client) is None
    client.post(reverse("account_request_login_code"), {"email": invited.email})
    client.post(reverse("account_confirm_login_code"), {"code": emailed_code(mail.outbox[-1])})
    assert signed_in_user_id(client) == str(invited.pk)


def test_no_code_is_sent_for_an_unknown_address(db):
    client = Client()
    client.post(reverse("account_request_login_code"), {"email": "nobody@example.org"})
    assert signed_in_user_id(client) is None
    # Enumeration is prevented: the page looks the same, but no code exists to use.
    assert all(not CODE.search(m.body) for m in mail.outbox)


# --- failed sign-ins are rate-limited -------------------------------------------------


def test_failed_sign_ins_are_limited_per_address(coordinator):
    client = Client()
    for _ in range(5):
        response = sign_in(client, coordinator.email, "guess")
        assert response.status_code == 200
        assert signed_in_user_id(client) is None
    # Even the right password is refused now.
    response = sign_in(client, coordinator.email)
    assert signed_in_user_id(client) is None
    assert response.status_code in (200, 429)
    assert "too many" in response.text.lower()

    # The limit is on that address: someone else still signs in from elsewhere.
    other = Client(REMOTE_ADDR="10.9.8.7")
    colleague = UserFactory(email="colleague@example.org", roles=["coordinator"])
    sign_in(other, colleague.email)
    assert signed_in_user_id(other) == str(colleague.pk)


def test_failed_sign_ins_are_limited_per_address_across_addresses(coordinator):
    # An attacker rotating IP addresses still meets the per-address limit.
    for n in range(5):
        sign_in(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), coordinator.email, "guess")
    client = Client(REMOTE_ADDR="10.0.0.99")
    sign_in(client, coordinator.email)
    assert signed_in_user_id(client) is None


def test_a_successful_sign_in_does_not_count_as_a_failure(coordinator):
    for _ in range(8):
        client = Client()
        sign_in(client, coordinator.email)
        assert signed_in_user_id(client) == str(coordinator.pk)


# --- passwords ------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2_in_production():
    # tests/conftest.py swaps in MD5 for speed; the settings module itself says Argon2.
    assert production_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )
    with override_settings(PASSWORD_HASHERS=production_settings.PASSWORD_HASHERS):
        user = UserFactory(password="a long pass phrase 42")
        assert user.password.startswith("argon2$")
        assert identify_hasher(user.password).algorithm == "argon2"
        assert user.check_password("a long pass phrase 42")


# --- multi-factor -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_finance_and_admin_without_totp_are_sent_to_set_it_up(role, totp_clock):
    user = UserFactory(roles=[role])
    client = Client()
    sign_in(client, user.email)
    assert signed_in_user_id(client) == str(user.pk)  # nothing to ask for yet
    for path in ("/admin/", "/admin/engagements/study/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    # Setting it up asks for the password once more (allauth), then for a first code.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = client.post(response.url, {"password": PASSWORD})
    assert response.url == reverse("mfa_activate_totp")
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    secret = response.context["form"].secret
    code = format_hotp_value(hotp_value(secret, totp_clock // 30))
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get("/admin/").status_code == 200


def test_the_mfa_rule_holds_under_a_url_prefix():
    client = Client()
    client.force_login(UserFactory(roles=["finance"]))
    response = client.get("/admin/", SCRIPT_NAME="/honora")
    assert response.status_code == 302
    assert response.url.endswith(reverse("mfa_activate_totp"))


@pytest.mark.parametrize("fixture", ["finance", "admin_user"])
def test_finance_and_admin_with_totp_reach_the_admin(request, fixture):
    client = Client()
    client.force_login(request.getfixturevalue(fixture))
    assert client.get("/admin/").status_code == 200


def test_coordinators_need_no_totp_for_the_admin(coordinator):
    client = Client()
    client.force_login(coordinator)
    assert client.get("/admin/").status_code == 200


def test_finance_signs_in_with_password_then_a_totp_code(finance, totp_clock):
    client = Client()
    response = sign_in(client, finance.email)
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert signed_in_user_id(client) is None  # not yet: the code is still missing
    assert client.get("/admin/").status_code == 302

    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert signed_in_user_id(client) is None

    response = client.post(reverse("mfa_authenticate"), {"code": current_totp_code(finance)})
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(finance.pk)
    methods = client.session["account_authentication_methods"]
    assert [m["method"] for m in methods] == ["password", "mfa"]
    assert client.get("/admin/").status_code == 200


def test_an_emailed_code_does_not_skip_the_totp_step(finance):
    client = Client()
    client.post(reverse("account_request_login_code"), {"email": finance.email})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": emailed_code(mail.outbox[0])}
    )
    assert response.url == reverse("mfa_authenticate")
    assert signed_in_user_id(client) is None


def test_the_django_admin_login_form_does_not_bypass_mfa(finance):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": finance.email, "password": PASSWORD}
    )
    assert signed_in_user_id(client) is None
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert client.get("/admin/").status_code == 302


def test_recovery_codes_exist_for_enrolled_users(finance):
    types = set(Authenticator.objects.filter(user=finance).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


# --- sessions --------------------------------------------------------------------------


def test_consultant_sessions_expire_after_a_short_idle_time(consultant, settings):
    idle = django_settings.CONSULTANT_SESSION_IDLE_MINUTES * 60
    assert idle < settings.SESSION_COOKIE_AGE
    client = Client()
    client.force_login(consultant.user)
    client.get("/")
    assert client.session.get_expiry_age() == idle


def test_a_consultant_signing_in_gets_the_short_session_at_once(consultant):
    client = Client()
    sign_in(client, consultant.user.email)
    assert signed_in_user_id(client) == str(consultant.user.pk)
    assert client.session.get_expiry_age() == (django_settings.CONSULTANT_SESSION_IDLE_MINUTES * 60)


@pytest.mark.parametrize("fixture", ["coordinator", "finance", "admin_user"])
def test_staff_sessions_last_a_working_day(request, fixture, settings):
    client = Client()
    client.force_login(request.getfixturevalue(fixture))
    client.get("/")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_AGE == settings.STAFF_SESSION_IDLE_MINUTES * 60


def test_the_unknown_account_email_sends_people_to_sign_in_help_not_sign_up(db):
    Client().post(reverse("account_request_login_code"), {"email": "nobody@example.org"})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "About signing in"
    assert reverse("account_login") in message.body
    assert reverse("account_signup") not in message.body
    assert "sign up" not in message.body.lower()
