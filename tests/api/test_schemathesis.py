"""Schemathesis fuzzes every operation over real HTTP as each role.

It finds no 5xx and no answer that breaks the schema. The schema is the
committed api/schema.yml, which test_schema.py proves equal to the live one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.services import api_token_create
from engagements import services
from tests.factories import ConsultantFactory, EngagementFactory, UserFactory

schema = schemathesis.openapi.from_path(Path(settings.BASE_DIR) / "api" / "schema.yml")

ROLES = ("consultant", "coordinator", "finance", "admin")


@pytest.fixture
def fuzz_world(live_server, transactional_db, settings):
    """A small study and one token per role, served by a real HTTP server."""
    from rest_framework.throttling import SimpleRateThrottle

    from accounts.demo import enroll_totp

    SimpleRateThrottle.THROTTLE_RATES = {
        "writes": "100000/min",
        "reads": "100000/min",
        "auth": "100000/min",
    }
    users = {
        "consultant": UserFactory(roles=["consultant"]),
        "coordinator": UserFactory(roles=["coordinator"]),
        "finance": UserFactory(roles=["finance"]),
        "admin": UserFactory(roles=["admin"]),
    }
    for role in ("finance", "admin"):
        enroll_totp(users[role], "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    consultant = ConsultantFactory(user=users["consultant"])
    engagement = EngagementFactory(consultant=consultant)
    services.contribution_create(
        engagement=engagement,
        by=users["coordinator"],
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
        submit=True,
    )
    tokens = {role: api_token_create(user=u, name="fuzz", days=1)[1] for role, u in users.items()}
    yield live_server.url, tokens
    from rest_framework.settings import api_settings

    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@hypothesis_settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_fuzz(case, role, fuzz_world):
    base_url, tokens = fuzz_world
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Token {tokens[role]}"},
        timeout=30,
        # Schema-valid bodies may still break business rules (quarter hours, a
        # study's floor, an engagement that does not exist): a 400 is right there.
        excluded_checks=[positive_data_acceptance],
    )
