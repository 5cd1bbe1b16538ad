"""Two people approving one entry at the same moment: the row lock lets exactly one win."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from core.errors import StateConflict
from engagements.models import Contribution
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve
from tests.conftest import requires_postgres
from tests.factories import UserFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def approve_at_once(contribution, approvers) -> list:
    """Run contribution_approve for each approver in its own thread and connection."""
    barrier = threading.Barrier(len(approvers))
    outcomes: list = [None] * len(approvers)

    def approve(index, user):
        try:
            barrier.wait(timeout=120)
            outcomes[index] = contribution_approve(contribution=contribution, by=user)
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(i, user)) for i, user in enumerate(approvers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.fixture
def submitted(engagement, coordinator):
    return contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
        submit=True,
    )


def approvals(contribution) -> int:
    return contribution.history.filter(history_action="contribution.approved").count()


def test_two_approvers_at_once_one_wins_the_other_gets_a_conflict(submitted, coordinator2):
    third = UserFactory(roles=["coordinator"])
    outcomes = approve_at_once(submitted, [coordinator2, third])
    winners = [o for o in outcomes if isinstance(o, Contribution)]
    losers = [o for o in outcomes if not isinstance(o, Contribution)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and isinstance(losers[0], StateConflict), outcomes

    c = Contribution.objects.get(pk=submitted.pk)
    assert c.status == "approved"
    assert c.approved_by == winners[0].approved_by
    assert c.amount == Decimal("120.00")
    assert approvals(c) == 1


def test_the_same_approver_clicking_twice_at_once_approves_once(submitted, coordinator2):
    outcomes = approve_at_once(submitted, [coordinator2, coordinator2])
    assert all(isinstance(o, Contribution) for o in outcomes), outcomes
    assert {o.status for o in outcomes} == {"approved"}

    c = Contribution.objects.get(pk=submitted.pk)
    assert c.approved_by == coordinator2
    assert approvals(c) == 1
    assert c.history.count() == 2  # submitted, approved: the second click wrote nothing
