"""Cursors are opaque, not signed: a forged one is "not found", never a 500."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.django_db


def forged(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    ("path", "ordering", "cursor"),
    [
        ("/api/v1/contributions/", "", forged("p=abc")),
        ("/api/v1/contributions/", "date", forged("p=not-a-date")),
        ("/api/v1/contributions/", "-date", forged("p=2026-13-45&r=1")),
        ("/api/v1/consultants/", "created_at", forged("p=yesterday")),
        ("/api/v1/engagements/", "", forged("o=1&p=1e400")),
        ("/api/v1/studies/", "", forged("p=%00")),
    ],
)
def test_a_forged_cursor_position_is_not_found(api, submitted, path, ordering, cursor):
    params = {"cursor": cursor, **({"ordering": ordering} if ordering else {})}
    response = api["coordinator"].get(path, params)
    assert response.status_code == 404, response.content[:300]
    assert response.json()["code"] == "not_found"


def test_a_real_cursor_still_pages(api, engagement, coordinator):
    from datetime import date
    from decimal import Decimal

    from engagements.services.contributions import contribution_create

    for day in range(1, 4):
        contribution_create(
            engagement=engagement,
            by=coordinator,
            kind="hours",
            activity="work",
            date=date(2026, 3, day),
            quantity=Decimal("1"),
        )
    first = api["coordinator"].get("/api/v1/contributions/", {"page_size": 2, "ordering": "date"})
    assert first.status_code == 200
    body = first.json()
    assert len(body["results"]) == 2
    cursor = parse_qs(urlparse(body["next"]).query)["cursor"][0]
    second = api["coordinator"].get(
        "/api/v1/contributions/", {"page_size": 2, "ordering": "date", "cursor": cursor}
    )
    assert second.status_code == 200
    dates = [r["date"] for r in body["results"] + second.json()["results"]]
    assert dates == ["2026-03-01", "2026-03-02", "2026-03-03"]
