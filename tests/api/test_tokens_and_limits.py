from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def with_token(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_issue_api_token_prints_a_working_token_stored_only_as_a_hash(coordinator, capsys):
    call_command("issue_api_token", "Coordinator@Example.org", "--name", "automation")
    token = capsys.readouterr().out.strip()
    assert token.startswith("hon_")
    row = ApiToken.objects.get(user=coordinator)
    assert row.name == "automation"
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128
    assert with_token(token).get("/api/v1/contributions/").status_code == 200


def test_finance_and_admin_need_mfa_before_tokens(db):
    finance = UserFactory(roles=["finance"])
    with pytest.raises(CommandError, match="two-step"):
        call_command("issue_api_token", finance.email)
    assert not ApiToken.objects.exists()


def test_expired_and_revoked_tokens_are_refused(coordinator):
    _row, token = api_token_create(user=coordinator, name="old", days=1)
    ApiToken.objects.filter(user=coordinator).update(expiry=timezone.now() - timedelta(minutes=1))
    assert with_token(token).get("/api/v1/contributions/").status_code == 401
    row, token = api_token_create(user=coordinator, name="new", days=1)
    from accounts.services import api_token_revoke

    api_token_revoke(token=row, by=coordinator)
    response = with_token(token).get("/api/v1/contributions/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_tokens_page_creates_shows_once_and_revokes(client, consultant_user):
    client.force_login(consultant_user)
    page = client.post("/tokens/", {"name": "My survey sync", "days": "30"})
    assert page.status_code == 200
    token = page.context["new_token"]
    assert token and token in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    again = client.get("/tokens/")
    assert token not in again.content.decode() and "My survey sync" in again.content.decode()
    bad = client.post("/tokens/", {"name": "", "days": "30"})
    assert (
        "Give the token a name" in bad.content.decode()
        or "This field is required" in bad.content.decode()
    )
    row = ApiToken.objects.get(user=consultant_user)
    client.post("/tokens/", {"revoke": row.token_key})
    assert not ApiToken.objects.exists()
    assert with_token(token).get("/api/v1/me/").status_code == 401


def test_failed_token_sign_ins_are_throttled_with_retry_after(settings, consultant_user):
    from django.core.cache import cache

    cache.clear()
    client = with_token("hon_definitely-not-a-token")
    statuses = [client.get("/api/v1/me/").status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    response = client.get("/api/v1/me/")
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
    cache.clear()


def test_writes_are_throttled(settings, coordinator, engagement):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "writes": "2/min"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        _row, token = api_token_create(user=coordinator, name="t", days=1)
        client = with_token(token)
        body = {
            "engagement": str(engagement.public_id),
            "kind": "hours",
            "activity": "work",
            "date": "2026-03-12",
            "quantity": "1",
        }
        codes = [
            client.post("/api/v1/contributions/", body, format="json").status_code for _ in range(3)
        ]
        assert codes == [201, 201, 429]
        assert client.get("/api/v1/contributions/").status_code == 200  # reads are separate
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()
