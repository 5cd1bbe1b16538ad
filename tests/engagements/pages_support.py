"""Builders and helpers shared by the coordinator page tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.models import Contribution
from engagements.services.contributions import contribution_create
from engagements.services.disputes import dispute_open
from engagements.services.reviews import contribution_approve
from tests.factories import ConsultantFactory, EngagementFactory

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def log(engagement, by, *, submit=True, **overrides) -> Contribution:
    fields = {
        "kind": "hours",
        "activity": "work",
        "date": date(2026, 3, 12),
        "quantity": Decimal("2"),
        "description": "Advisory call",
    }
    fields.update(overrides)
    return contribution_create(engagement=engagement, by=by, submit=submit, **fields)


def approved(engagement, by, approver, **overrides) -> Contribution:
    c = log(engagement, by, **overrides)
    return contribution_approve(contribution=c, by=approver)


def grow(engagement, coordinator, coordinator2, *, consultants: int, per_consultant: int):
    """Fill ``engagement``'s study with more people and entries in every state."""
    made = []
    for _ in range(consultants):
        other = EngagementFactory(
            consultant=ConsultantFactory(),
            phase=engagement.phase,
            rate_card=engagement.rate_card,
        )
        for i in range(per_consultant):
            day = date(2026, 1, 5) + timedelta(days=i)
            c = log(other, coordinator, date=day, description=f"=cmd {i}")
            if i % 3 == 1:
                c = contribution_approve(contribution=c, by=coordinator2)
            elif i % 3 == 2:
                dispute_open(contribution=c, by=coordinator2, comment="Check the hours")
            made.append(c)
    return made


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def text(response) -> str:
    return response.content.decode()


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")
