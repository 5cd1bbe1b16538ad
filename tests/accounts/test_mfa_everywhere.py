"""Finance and admin users reach consultants' data only after enrolling an authenticator.

Before, only /admin/ and /finance/ asked for it: a finance user without TOTP could
read /consultants/, /contributions/ and their CSV exports, and the API by session.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

STAFF_DATA_PAGES = [
    "/",
    "/consultants/",
    "/contributions/",
    "/contributions/?format=csv",
    "/studies/",
    "/review/",
    "/finance/",
    "/admin/",
]


@pytest.mark.parametrize("role", ["finance", "admin"])
@pytest.mark.parametrize("path", STAFF_DATA_PAGES)
def test_without_totp_every_staff_page_sends_them_to_set_it_up(db, role, path):
    client = Client()
    client.force_login(UserFactory(roles=[role, "coordinator"]))
    response = client.get(path)
    assert response.status_code == 302, path
    assert response.url == reverse("mfa_activate_totp")


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_without_totp_the_api_by_session_is_refused_in_the_api_shape(db, role):
    client = Client()
    client.force_login(UserFactory(roles=[role]))
    response = client.get("/api/v1/consultants/")
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_without_totp_the_account_pages_and_sign_out_stay_open(db):
    client = Client()
    client.force_login(UserFactory(roles=["finance"]))
    assert client.get(reverse("account_logout")).status_code == 200
    # The set-up page itself asks for the password again, never loops back to itself.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))


def test_with_totp_the_same_pages_open(finance):
    client = Client()
    client.force_login(finance)
    assert client.get("/finance/").status_code == 200
    assert client.get("/consultants/").status_code in (200, 403)


def test_coordinators_are_not_asked_for_totp(coordinator):
    client = Client()
    client.force_login(coordinator)
    assert client.get("/contributions/").status_code == 200
