"""Configuration comes from the environment and fails loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import parse_address, parse_encryption_secrets, parse_tax_id, parse_year_table

ROOT = Path(__file__).resolve().parent.parent

# Every variable a test here sets; none of them leaks in from the caller's shell.
UNDER_TEST = (
    "DEBUG",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "FIELD_ENCRYPTION_KEY",
    "TAX_FORM_THRESHOLDS",
    "TAX_FORM_ORG_THRESHOLD",
    "EMAIL_PORT",
    "EMAIL_BACKEND",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "HOURLY_RATE_FLOOR",
    "CURRENCY",
    "STRIPE_TRANSFER_SOURCE_TYPE",
    "REDIS_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "STRIPE_PLATFORM_COUNTRY",
    "STRIPE_CONNECT_COUNTRY",
    "ORGANIZATION_ADDRESS",
    "ORGANIZATION_TAX_ID",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by some test tools; check --deploy rightly flags it
)

GOOD_SECRET_KEY = "k9" + "Zq4-pL7_wX2mN8vB3cR6tY1uH5jD0sF" * 2
GOOD_FIELD_KEY = "field-encryption-secret-for-tests-0123456789"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in UNDER_TEST}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_secret_key_refuses_to_start():
    result = manage("check", DEBUG="0", FIELD_ENCRYPTION_KEY=GOOD_FIELD_KEY)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_field_encryption_key_refuses_to_start():
    result = manage("check", DEBUG="0", SECRET_KEY=GOOD_SECRET_KEY)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set" in result.stderr


def test_development_needs_no_variable_at_all():
    result = manage("check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("FIELD_ENCRYPTION_KEY", "too-short"),
        ("FIELD_ENCRYPTION_KEY", GOOD_FIELD_KEY + ",short"),
        ("TAX_FORM_THRESHOLDS", "2026-2000"),
        ("TAX_FORM_THRESHOLDS", "2026:1e40"),
        ("EMAIL_PORT", "abc"),
        ("DATABASE_URL", "nonsense://x"),
        ("HOURLY_RATE_FLOOR", "cheap"),
        ("HOURLY_RATE_FLOOR", "1e40"),
        ("CURRENCY", "dollars"),
        ("STRIPE_TRANSFER_SOURCE_TYPE", "cash"),
        ("SECRET_KEY", "short"),
        # Limits that would let a day exceed 24 hours or sums overflow a money column.
        ("LIMIT_HOURS_PER_DAY", "144"),
        ("LIMIT_AMOUNT_PER_BATCH", "9999999999.99"),
        ("LIMIT_AMOUNT_PER_ENTRY", "1e9"),
        # Not a country where Stripe offers accounts, or not a two-letter code at all.
        ("STRIPE_PLATFORM_COUNTRY", "USA"),
        ("STRIPE_PLATFORM_COUNTRY", "ZZ"),
        ("STRIPE_CONNECT_COUNTRY", "Narnia"),
        # What receipts print as the payer's tax id and address must look like one.
        ("ORGANIZATION_TAX_ID", "<script>alert(1)</script>"),
        ("ORGANIZATION_ADDRESS", "\\n".join(["a line"] * 7)),
        # Who signs income letters: a printed line, not empty, not a page of text.
        ("ORGANIZATION_SIGNATORY_NAME", " "),
        ("ORGANIZATION_SIGNATORY_TITLE", "x" * 201),
    ],
)
def test_a_malformed_value_stops_start_up_naming_its_variable(variable, value):
    result = manage("check", **{variable: value})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured")
    assert variable in last_line


def test_production_check_is_clean_with_only_the_four_required_variables(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=GOOD_SECRET_KEY,
        ALLOWED_HOSTS="honora.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'honora.sqlite3'}",
        FIELD_ENCRYPTION_KEY=GOOD_FIELD_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_uses_argon2_and_secure_cookies(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PASSWORD_HASHERS[0], s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.DEBUG)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in UNDER_TEST}
    clean.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=GOOD_SECRET_KEY,
        ALLOWED_HOSTS="honora.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'honora.sqlite3'}",
        FIELD_ENCRYPTION_KEY=GOOD_FIELD_KEY,
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "True",
        "True",
        "True",
        "False",
    ]


# --- the parsers, directly ----------------------------------------------------------


def test_year_table_parses_years_and_amounts_to_cents():
    table = parse_year_table("TAX_FORM_THRESHOLDS", " 2024:600, 2026:2000.5 ,")
    assert table == {2024: Decimal("600.00"), 2026: Decimal("2000.50")}
    assert all(v.as_tuple().exponent == -2 for v in table.values())


@pytest.mark.parametrize(
    "raw",
    [
        "2026-2000",
        "2026:",
        ":600",
        "year:600",
        "2026:abc",
        "2026:-1",
        "1800:600",
        "2026:nan",
        "2026:inf",
        "2026:1e40",
        "",
        " , ",
    ],
)
def test_year_table_refuses_what_it_cannot_read_and_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured) as exc:
        parse_year_table("TAX_FORM_THRESHOLDS", raw)
    assert "TAX_FORM_THRESHOLDS" in str(exc.value)


def test_an_address_is_read_as_lines_from_a_written_or_a_real_line_break():
    assert parse_address("ORGANIZATION_ADDRESS", " 1 Main St \\n\\n Springfield, IL 62701 ") == (
        "1 Main St\nSpringfield, IL 62701"
    )
    assert parse_address("ORGANIZATION_ADDRESS", "1 Main St\nSuite 2") == "1 Main St\nSuite 2"
    assert parse_address("ORGANIZATION_ADDRESS", "") == ""


@pytest.mark.parametrize("raw", ["x\n" * 7, "x" * 301, "1 Main St\x00", "bell\x07"])
def test_an_address_too_long_or_with_control_characters_is_refused(raw):
    with pytest.raises(ImproperlyConfigured) as exc:
        parse_address("ORGANIZATION_ADDRESS", raw)
    assert "ORGANIZATION_ADDRESS" in str(exc.value)


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("12-3456789", "12-3456789"),
        (" 12-3456789 ", "12-3456789"),
        ("GB 123 4567 89", "GB 123 4567 89"),
        ("DE123456789", "DE123456789"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_a_tax_id_is_an_ein_or_another_countrys_number(raw, read):
    assert parse_tax_id("ORGANIZATION_TAX_ID", raw) == read


@pytest.mark.parametrize(
    "raw",
    ["abc", "12", "12--3456789", "-123456789", "1" * 21, "12-345678<9", "12\n3456789", "١٢٣٤٥"],
)
def test_a_tax_id_that_is_not_one_is_refused(raw):
    with pytest.raises(ImproperlyConfigured) as exc:
        parse_tax_id("ORGANIZATION_TAX_ID", raw)
    assert "ORGANIZATION_TAX_ID" in str(exc.value)


def test_encryption_secrets_keep_their_order_newest_first():
    new, old = "n" * 32, "o" * 40
    assert parse_encryption_secrets("FIELD_ENCRYPTION_KEY", f" {new} , {old} ,") == [new, old]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "at least one secret"),
        (" , ", "at least one secret"),
        ("x" * 31, "secret number 1 is 31 characters"),
        ("x" * 32 + "," + "y" * 8, "secret number 2 is 8 characters"),
    ],
)
def test_encryption_secrets_must_be_long_enough(raw, fragment):
    with pytest.raises(ImproperlyConfigured) as exc:
        parse_encryption_secrets("FIELD_ENCRYPTION_KEY", raw)
    assert "FIELD_ENCRYPTION_KEY" in str(exc.value)
    assert fragment in str(exc.value)


def test_the_platform_country_reads_its_old_name_and_refuses_a_disagreement():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.STRIPE_PLATFORM_COUNTRY)"
    )

    def platform_country(**env: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if k not in UNDER_TEST}
        clean.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert platform_country().stdout.strip() == "US"
    assert platform_country(STRIPE_PLATFORM_COUNTRY="gb").stdout.strip() == "GB"
    assert platform_country(STRIPE_CONNECT_COUNTRY="CA").stdout.strip() == "CA"
    both = platform_country(STRIPE_PLATFORM_COUNTRY="GB", STRIPE_CONNECT_COUNTRY="US")
    assert both.returncode != 0
    assert "STRIPE_CONNECT_COUNTRY" in both.stderr and "STRIPE_PLATFORM_COUNTRY" in both.stderr


def test_the_favicon_is_served_for_everyone(client):
    """Browsers ask for /favicon.ico on every page: it must not be a 404."""
    response = client.get("/favicon.ico", follow=True)
    assert response.redirect_chain[0][0].endswith("img/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
