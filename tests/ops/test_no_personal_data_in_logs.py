"""Flows that handle a consultant's legal name, e-mail and taxpayer id log none of them.

Every record at DEBUG and up is captured while the flows run (sign-in with the
e-mail, right and wrong; a sign-in code; the identity vault's reveal; recording a
W-9 with its taxpayer id, right and malformed) and each is rendered as the JSON
line production would write.
"""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_token_create
from consultants.services import vault_update
from ops.logging import RequestIdFilter, json_formatter, plain_formatter

pytestmark = pytest.mark.django_db

LEGAL_NAME = "Adelaide Quintero"
TIN = "612-88-4093"
NEW_TIN = "987-65-4329"
BAD_TIN = "98765-43X"
UNKNOWN_EMAIL = "nobody.known@example.com"


def token_client(user) -> APIClient:
    client = APIClient()
    _row, token = api_token_create(user=user, name="tests", days=1)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_no_personal_data_reaches_a_log_line(client, consultant, finance, caplog):
    vault_update(
        consultant=consultant, by=finance, reason="", legal_name=LEGAL_NAME, taxpayer_id=TIN
    )
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.DEBUG)
    email = consultant.user.email

    # Sign-in with the e-mail: a wrong password, an unknown address, a code, the right one.
    login = reverse("account_login")
    assert client.post(login, {"login": email, "password": "wrong"}).status_code == 200
    assert client.post(login, {"login": UNKNOWN_EMAIL, "password": "wrong"}).status_code == 200
    code = reverse("account_request_login_code")
    assert client.post(code, {"email": email}).status_code == 302
    client.logout()
    ok = client.post(login, {"login": email, "password": "correct horse battery staple"})
    assert ok.status_code == 302
    # A page that is not the consultant's, with the e-mail in the query string.
    assert client.get(f"/finance/?email={email}").status_code in (403, 404)

    # Finance reveals the legal name and taxpayer id, and records a W-9.
    api = token_client(finance)
    base = f"/api/v1/consultants/{consultant.public_id}"
    for field in ("legal_name", "taxpayer_id"):
        revealed = api.post(f"{base}/reveal/", {"field": field, "reason": "1099"}, format="json")
        assert revealed.status_code == 200
    assert revealed.json()["value"] == TIN
    assert api.post(f"{base}/reveal/", {"field": "legal_name"}, format="json").status_code == 400
    bad = api.post(
        f"{base}/tax-form/",
        {"form_type": "W-9", "received_on": "2026-02-01", "tin": BAD_TIN, "reason": "W-9 in"},
        format="json",
    )
    assert bad.status_code == 400
    good = api.post(
        f"{base}/tax-form/",
        {"form_type": "W-9", "received_on": "2026-02-01", "tin": NEW_TIN, "reason": "W-9 in"},
        format="json",
    )
    assert good.status_code == 200, good.content

    answers = [r for r in caplog.records if r.name == "django.request"]
    assert len(answers) >= 3, "the 403 and the two 400s are logged (with their paths)"
    formatters = (json_formatter(), plain_formatter())  # what production writes
    secrets = [
        email,
        consultant.email,
        UNKNOWN_EMAIL,
        LEGAL_NAME,
        "Quintero",
        TIN,
        TIN.replace("-", ""),
        NEW_TIN,
        NEW_TIN.replace("-", ""),
        BAD_TIN,
    ]
    for record in caplog.records:
        for line in (f.format(record) for f in formatters):
            for secret in secrets:
                assert secret not in line, f"{secret!r} logged by {record.name}: {line}"
