"""Standing users for every test module: the owner / teammate / outsider pattern.

``consultant_user`` owns ``engagement``; ``outsider_user`` is another consultant
with records of their own; staff come one per role, finance and admin already
enrolled in TOTP.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.factories import ConsultantFactory, EngagementFactory, UserFactory

# The local Stripe sandbox (``stripe_sandbox``, ``stripe_client``, ``webhook_receiver``...).
pytest_plugins = ["tests.stripe_sandbox.fixtures"]

# Tests whose proof does not depend on the test run's database: the browser (it drives
# pages; the rules behind them are proved on both databases elsewhere), the production
# processes (they run on PostgreSQL in production, and on it when the run is on it),
# /readyz with backends of its own, the real Redis, S3 and SMTP servers, and the API's
# contract as outsiders meet it (schemathesis and the generated client: they exercise
# HTTP and the schema; the rules behind each answer are proved on both databases by the
# API's own tests). CI runs them once, in its PostgreSQL run
# (``-m "not database_neutral"`` in the SQLite run); ``uv run pytest`` runs them too.
DATABASE_NEUTRAL = (
    "tests/browser/",
    "tests/production/",
    "tests/ops/test_readyz_real.py",
    "tests/parts/test_redis.py",
    "tests/parts/test_s3.py",
    "tests/parts/test_smtp.py",
    "tests/api/test_schemathesis.py",
    "tests/api/test_generated_client.py",
    "tests/bench/test_bench_scripts.py",
)


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix()
        if where.startswith(DATABASE_NEUTRAL):
            item.add_marker(pytest.mark.database_neutral)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is the production hasher (see test_auth); tests need speed.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _empty_cache(request):
    # Rate limits and used TOTP codes live in the cache: no test inherits another's.
    # The cache is in the database, which only tests with database access reach; a
    # run of tests without any (``pytest tests/test_config.py``) sets no test database up.
    if not (
        request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(request.fixturenames)
    ):
        return
    from django.core.cache import cache

    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        cache.clear()


@pytest.fixture
def coordinator(db):
    return UserFactory(email="coordinator@example.org", name="Maria", roles=["coordinator"])


@pytest.fixture
def coordinator2(db):
    return UserFactory(email="coordinator2@example.org", name="Dev", roles=["coordinator"])


def _with_totp(user):
    from demo.accounts import enroll_totp

    enroll_totp(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    return user


@pytest.fixture
def finance(db):
    return _with_totp(UserFactory(email="finance@example.org", name="Grace", roles=["finance"]))


@pytest.fixture
def finance2(db):
    return _with_totp(UserFactory(email="finance2@example.org", name="Tomás", roles=["finance"]))


@pytest.fixture
def admin_user(db):
    return _with_totp(UserFactory(email="admin@example.org", name="Alex", roles=["admin"]))


@pytest.fixture
def consultant_user(db):
    return UserFactory(email="consultant@example.org", name="River", roles=["consultant"])


@pytest.fixture
def consultant(consultant_user):
    return ConsultantFactory(display_name="River", user=consultant_user)


@pytest.fixture
def engagement(consultant):
    return EngagementFactory(consultant=consultant)


@pytest.fixture
def outsider_user(db):
    return UserFactory(email="outsider@example.org", name="Sol", roles=["consultant"])


@pytest.fixture
def outsider(outsider_user):
    return ConsultantFactory(display_name="Sol", user=outsider_user)


@pytest.fixture
def outsider_engagement(outsider, engagement):
    return EngagementFactory(
        consultant=outsider, phase=engagement.phase, rate_card=engagement.rate_card
    )


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


requires_postgres = pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL row locks (run with DATABASE_URL=postgres://...)",
)


@pytest.fixture
def totp_clock(monkeypatch):
    """allauth's TOTP clock, stopped in the middle of a 30-second window.

    A code computed from the wall clock can fall on a window boundary on a busy
    machine (the code is made, the window turns, the code is checked): the test
    then fails for a reason that has nothing to do with Honora.
    """
    import time
    import types

    from allauth.mfa.totp.internal import auth as totp_auth

    from demo import accounts as demo_accounts

    now = (int(time.time()) // 30) * 30 + 15
    stopped = types.SimpleNamespace(time=lambda: now)
    monkeypatch.setattr(totp_auth, "time", stopped)
    monkeypatch.setattr(demo_accounts, "time", stopped)  # the demo's code, same clock
    return now


def _paid_by_check(name_as, engagement, coordinator, coordinator2, finance, finance2):
    from tests.payments.documents_support import paid_with_receipt

    return paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
        name_as=name_as,
    )


@pytest.fixture
def paid_by_check(engagement, coordinator, coordinator2, finance, finance2):
    """(payment, receipt): the owner's standard work paid by check, its receipt issued
    naming the consultant by their legal name (tests/payments/documents_support.py)."""
    return _paid_by_check("legal_name", engagement, coordinator, coordinator2, finance, finance2)


@pytest.fixture
def paid_by_check_as_pseudonym(engagement, coordinator, coordinator2, finance, finance2):
    """As ``paid_by_check``, the receipt naming the consultant by their pseudonym."""
    return _paid_by_check("pseudonym", engagement, coordinator, coordinator2, finance, finance2)
