"""X-Forwarded-For is believed only as far as TRUSTED_PROXY_COUNT says: a client
cannot escape a rate limit by making up addresses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
LIMIT = 10  # API_AUTH_FAILURE_RATE: 10/min


def failed_token_sign_ins(forwarded_for) -> list[int]:
    cache.clear()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token hon_definitely-not-a-token")
    return [
        client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=forwarded_for(i)).status_code
        for i in range(LIMIT + 2)
    ]


def test_by_default_no_proxy_is_trusted():
    assert django_settings.TRUSTED_PROXY_COUNT == 0
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    assert django_settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0


def test_made_up_forwarded_addresses_do_not_evade_the_failed_token_limit(db):
    statuses = failed_token_sign_ins(lambda i: f"203.0.113.{i}")
    assert statuses[:LIMIT] == [401] * LIMIT
    assert statuses[LIMIT:] == [429, 429]


def test_behind_one_proxy_only_the_address_it_added_counts(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The client makes up the left part; our proxy appends the address it saw.
    statuses = failed_token_sign_ins(lambda i: f"203.0.113.{i}, 198.51.100.7")
    assert statuses[LIMIT:] == [429, 429]
    # Another real client behind the same proxy is counted apart.
    other = failed_token_sign_ins(lambda i: f"198.51.100.{8 + i}")
    assert other == [401] * (LIMIT + 2)


def _settings_value(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"TRUSTED_PROXY_COUNT", "DEBUG"}}
    clean.update(env)
    code = (
        "from django.conf import settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'], "
        "s.ALLAUTH_TRUSTED_PROXY_COUNT)"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_count_comes_from_the_environment():
    result = _settings_value(TRUSTED_PROXY_COUNT="2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["2", "2", "2"]


def test_a_negative_count_stops_start_up():
    result = _settings_value(TRUSTED_PROXY_COUNT="-1")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr
