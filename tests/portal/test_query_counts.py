"""Portal pages run the same number of queries whatever the amount of data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements.services.contributions import (
    contribution_adjust,
    contribution_create,
    contribution_update,
)
from engagements.services.disputes import dispute_open
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db

STATES = ("approved", "submitted_by_consultant", "paid", "rejected", "draft", "submitted")


def _fill(engagement, make_entry, consultant, count: int):
    """``count`` entries in every state, over two phases, some disputed or adjusted."""
    other = EngagementFactory(
        consultant=engagement.consultant,
        phase__study=engagement.phase.study,
        rate_card=engagement.rate_card,
    )
    today = timezone.localdate()
    for i in range(count):
        c = make_entry(
            engagement if i % 2 else other,
            status=STATES[i % len(STATES)],
            quantity="1.25",
            on=today - timedelta(days=i * 11),
        )
        if i % 3 == 0:
            dispute_open(contribution=c, by=consultant.user, comment="Check this")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def measure(client, consultant, engagement, make_entry, outsider):
    """Queries for ``url`` with 3 entries (as the consultant) and with 30 (as the outsider)."""

    def run(url_name, query=""):
        _fill(engagement, make_entry, consultant, 3)
        outsider_engagement = EngagementFactory(
            consultant=outsider, phase=engagement.phase, rate_card=engagement.rate_card
        )
        _fill(outsider_engagement, make_entry, outsider, 30)
        url = reverse(url_name) + query
        client.force_login(consultant.user)
        client.get(url)  # warm up: session, content types
        small = _queries(client, url)
        client.force_login(outsider.user)
        client.get(url)
        large = _queries(client, url)
        return small, large

    return run


@pytest.mark.parametrize("url_name", ["portal:home", "portal:contributions"])
def test_the_query_count_does_not_grow_with_the_data(measure, url_name):
    small, large = measure(url_name)
    assert small == large, f"{url_name}: {small} queries with 3 entries, {large} with 30"


def test_the_filtered_list_query_count_does_not_grow_either(measure):
    small, large = measure("portal:contributions", "?status=submitted")
    assert small == large, f"{small} queries with 3 entries, {large} with 30"


def test_the_history_of_an_entry_costs_the_same_however_long(
    consultant_client, engagement, coordinator
):
    def entry_with_edits(n):
        c = contribution_create(
            engagement=engagement,
            by=coordinator,
            kind="hours",
            activity="work",
            date=timezone.localdate(),
            quantity=Decimal("1"),
        )
        for i in range(n):
            contribution_update(
                contribution=c, by=coordinator, quantity=Decimal("1") + Decimal(i + 1) / 4
            )
        return reverse("portal:contribution", kwargs={"public_id": c.public_id})

    short, long = entry_with_edits(1), entry_with_edits(12)
    consultant_client.get(short)
    assert _queries(consultant_client, short) == _queries(consultant_client, long)


def test_an_entry_with_more_adjustments_costs_the_same(
    consultant_client, engagement, make_entry, coordinator
):
    def entry_with_adjustments(n):
        c = make_entry(engagement, status="approved", quantity="5")
        for i in range(n):
            contribution_adjust(
                contribution=c,
                by=coordinator,
                reason=f"Correction {i}",
                quantity_delta="0.25",
            )
        return reverse("portal:contribution", kwargs={"public_id": c.public_id})

    one, five = entry_with_adjustments(1), entry_with_adjustments(5)
    consultant_client.get(one)
    assert _queries(consultant_client, one) == _queries(consultant_client, five)
