"""Redis as the cache (REDIS_URL): what one process counts, every other process sees.

Two separate ``manage.py shell`` processes, each with its own connection to our own
``redis-server``, drive Honora's real sign-in pages and API (through Django's test client
in that process). The failed sign-ins of both add up to one limit, and a two-step code
used through one process is refused through the other.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

# The other processes open the test database: an in-memory SQLite one cannot be shared.
shared_database = pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="the other processes need the test database: run with DATABASE_URL=postgres://...",
)

FAILED_SIGN_INS = """
import json
from django.test import Client
client = Client(REMOTE_ADDR="203.0.113.7")
answers = []
for _ in range({count}):
    response = client.post("/accounts/login/", {{"login": "nobody@example.org", "password": "wrong"}})
    text = response.content.decode()
    answers.append("limited" if "Too many failed login attempts" in text else response.status_code)
print(json.dumps(answers))
"""

BAD_TOKENS = """
import json
from django.test import Client
client = Client(REMOTE_ADDR="203.0.113.8")
statuses = [
    client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token hon_not-a-real-token").status_code
    for _ in range({count})
]
print(json.dumps(statuses))
"""

TOTP_SIGN_IN = """
import json, types
from allauth.mfa.totp.internal import auth as totp_auth
totp_auth.time = types.SimpleNamespace(time=lambda: {now})  # the test's stopped clock
from django.test import Client
client = Client()
first = client.post("/accounts/login/", {{"login": "{email}", "password": "{password}"}})
second = client.post("/accounts/2fa/authenticate/", {{"code": "{code}"}})
print(json.dumps({{
    "after_password": first.get("Location"),
    "after_code": second.status_code,
    "signed_in": "_auth_user_id" in client.session,
}}))
"""


def test_the_settings_give_redis_timeouts_a_prefix_and_a_version(monkeypatch):
    import importlib

    import config.settings as honora_settings

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "3")
    try:
        cache = importlib.reload(honora_settings).CACHES["default"]
    finally:
        monkeypatch.undo()
        importlib.reload(honora_settings)
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:1/0"
    assert cache["KEY_PREFIX"] == "honora" and cache["VERSION"] == 1
    assert cache["OPTIONS"]["socket_connect_timeout"] == 3
    assert cache["OPTIONS"]["socket_timeout"] == 3


def test_a_dead_redis_fails_fast_instead_of_hanging():
    """A port nobody listens on: the cache raises instead of waiting forever."""
    from django.core.cache import caches

    from tests.processes import free_port

    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    import redis

    with override_settings(CACHES=dead), pytest.raises(redis.exceptions.ConnectionError):
        caches["default"].get("anything")


@shared_database
def test_failed_sign_ins_through_two_processes_share_one_limit(
    django_db_setup, redis_server, run_django
):
    env = {"REDIS_URL": redis_server.url}
    # The limit is 5 failures per address in 5 minutes (settings.ACCOUNT_RATE_LIMITS).
    first = run_django(FAILED_SIGN_INS.format(count=3), **env)
    second = run_django(FAILED_SIGN_INS.format(count=3), **env)
    third = run_django(FAILED_SIGN_INS.format(count=1), **env)
    assert first == [200, 200, 200]
    assert second == [200, 200, "limited"]  # 3 + 2 failures, then the limit, across processes
    assert third == ["limited"]
    keys = [key.decode() for key in redis_server.client().scan_iter("honora:1:*")]
    assert any("login_failed" in key for key in keys), keys
    assert not any("nobody@example.org" in key for key in keys)  # no address in a key


@shared_database
def test_failed_api_tokens_through_two_processes_share_one_limit(
    django_db_setup, redis_server, run_django
):
    env = {"REDIS_URL": redis_server.url, "API_AUTH_FAILURE_RATE": "4/min"}
    assert run_django(BAD_TOKENS.format(count=2), **env) == [401, 401]
    assert run_django(BAD_TOKENS.format(count=3), **env) == [401, 401, 429]
    assert any(redis_server.client().scan_iter("honora:1:throttle_auth_*"))


@shared_database
@pytest.mark.django_db(transaction=True)
def test_a_totp_code_used_through_one_process_is_refused_through_the_other(
    finance, totp_clock, redis_server, run_django, settings
):
    from demo.accounts import current_totp_code

    # The other processes hash with the production hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    finance.set_password("a long and private passphrase")
    finance.save()
    values = {
        "now": totp_clock,
        "email": finance.email,
        "password": "a long and private passphrase",
        "code": current_totp_code(finance),
    }
    env = {"REDIS_URL": redis_server.url}
    first = run_django(TOTP_SIGN_IN.format(**values), **env)
    assert first == {
        "after_password": "/accounts/2fa/authenticate/",
        "after_code": 302,
        "signed_in": True,
    }
    second = run_django(TOTP_SIGN_IN.format(**values), **env)
    assert second["after_password"] == "/accounts/2fa/authenticate/"
    assert second["signed_in"] is False  # the same code, the same window: refused
    used = [key.decode() for key in redis_server.client().scan_iter("honora:1:allauth.mfa*")]
    assert len(used) == 1, used
