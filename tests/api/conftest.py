from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create
from engagements.services.contributions import contribution_create


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        _row, token = api_token_create(user=user, name="tests", days=1)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def api(consultant, outsider, coordinator, coordinator2, finance, admin_user):
    """One token-authenticated client per standing role, plus an anonymous one."""
    return {
        "anonymous": client_for(None),
        "consultant": client_for(consultant.user),
        "outsider": client_for(outsider.user),
        "coordinator": client_for(coordinator),
        "coordinator2": client_for(coordinator2),
        "finance": client_for(finance),
        "admin": client_for(admin_user),
    }


@pytest.fixture
def submitted(engagement, coordinator):
    """Hours logged and submitted by the coordinator on the owner's engagement."""
    return contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
        submit=True,
    )
