"""The Stripe settings: off without a key, and loud about anything malformed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k9" + "Zq4-pL7_wX2mN8vB3cR6tY1uH5jD0sF" * 2,
    "ALLOWED_HOSTS": "honora.example.org",
    "FIELD_ENCRYPTION_KEY": "field-encryption-secret-for-tests-0123456789",
    "DATABASE_URL": "sqlite:///:memory:",
}


def check(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRIPE_", "PAYMENTS_", "SITE_URL", "DEBUG", "SECRET_KEY"))
        and k not in PRODUCTION
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_stripe_key_needs_nothing_else_and_stripe_is_off():
    result = check(**PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STRIPE_SECRET_KEY": "sk_live_x"}, "STRIPE_WEBHOOK_SECRETS must be set"),
        (
            {
                "STRIPE_SECRET_KEY": "sk_live_x",
                "STRIPE_WEBHOOK_SECRETS": "whsec_a",
                "SITE_URL": "http://honora.example.org",
            },
            "SITE_URL must be the site's https:// address",
        ),
        ({"STRIPE_SECRET_KEY": "pk_live_x"}, "STRIPE_SECRET_KEY must be a secret"),
        (
            {"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_API_BASE": "http://stripe.example"},
            "STRIPE_API_BASE must be an https:// URL",
        ),
        ({"STRIPE_WEBHOOK_SECRETS": "whsec_a,oops"}, "secret number 2 must start with whsec_"),
        ({"STRIPE_TIMEOUT": "soon"}, "STRIPE_TIMEOUT must be a whole number"),
        ({"STRIPE_MAX_NETWORK_RETRIES": "-1"}, "STRIPE_MAX_NETWORK_RETRIES must be at least 0"),
    ],
)
def test_malformed_stripe_settings_stop_start_up_naming_the_variable(env, message):
    result = check(**PRODUCTION, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_with_stripe_fully_configured_starts():
    result = check(
        **PRODUCTION,
        STRIPE_SECRET_KEY="sk_live_x",
        STRIPE_WEBHOOK_SECRETS="whsec_new,whsec_old",
        SITE_URL="https://honora.example.org",
    )
    assert result.returncode == 0, result.stderr
