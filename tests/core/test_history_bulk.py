"""core.history's bulk writers: the same history rows simple-history's save writes.

``save_with_history`` and ``write_history`` (paying uses them) copy the row as stored
with one INSERT … SELECT; what they write must be what ``stamp`` and ``save`` write,
field for field, with the same user, action and reason, and read back in the same words.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.history import history_entries, save_with_history, stamp, write_history
from engagements import actions
from engagements.models import Contribution
from tests.factories import ContributionFactory

pytestmark = pytest.mark.django_db

# What differs between two history rows of the same save by construction.
BOOKKEEPING = {"history_id", "history_date", "updated_at"}


def row_values(row) -> dict:
    return {
        f.attname: getattr(row, f.attname)
        for f in type(row)._meta.concrete_fields
        if f.attname not in BOOKKEEPING
    }


def test_save_with_history_writes_the_row_stamp_and_save_write(coordinator, finance):
    c = ContributionFactory(description="prep", logged_by=coordinator)
    c.description = "preparation"
    stamp(c, by=finance, action=actions.CONTRIBUTION_PAID, reason="because")
    c.save(update_fields=["description", "updated_at"])
    classic = c.history.order_by("-history_id").first()

    c.description = "preparation time"
    save_with_history(
        c,
        by=finance,
        action=actions.CONTRIBUTION_PAID,
        reason="because",
        update_fields=["description", "updated_at"],
    )
    bulk = c.history.order_by("-history_id").first()
    assert bulk.history_id != classic.history_id
    expected = row_values(classic) | {"description": "preparation time"}
    assert row_values(bulk) == expected
    assert bulk.history_user == finance and bulk.history_type == "~"
    assert bulk.history_action == "contribution.paid" and bulk.history_change_reason == "because"
    stored = Contribution.objects.get(pk=c.pk)
    assert stored.description == "preparation time"
    assert stored.updated_at > classic.updated_at  # auto_now, as save does
    assert bulk.updated_at == stored.updated_at  # the row as stored


def test_a_new_row_saved_with_history_is_created_once(coordinator, finance):
    c = ContributionFactory.build(
        engagement=ContributionFactory(logged_by=coordinator).engagement,
        logged_by=coordinator,
        quantity=Decimal("2.5"),
    )
    save_with_history(c, by=finance, action=actions.CONTRIBUTION_PAID)
    [row] = c.history.all()
    assert row.history_type == "+" and row.history_user == finance
    assert row_values(row)["quantity"] == Decimal("2.5")


def test_write_history_is_one_statement_for_many_rows_and_reads_the_same(coordinator, finance):
    many = [ContributionFactory(logged_by=coordinator) for _ in range(5)]
    one = many[0]
    stamp(one, by=None, action=actions.CONTRIBUTION_PAID)
    one.save(update_fields=["updated_at"])
    classic_words = history_entries(one, viewer=finance)[-1]

    ids = [c.pk for c in many]
    with CaptureQueriesContext(connection) as ctx:
        write_history(Contribution, ids, by=None, action=actions.CONTRIBUTION_PAID)
    assert len(ctx.captured_queries) == 1
    for c in many:
        latest = c.history.order_by("-history_id").first()
        assert latest.history_action == "contribution.paid"
        assert latest.history_user is None and latest.history_change_reason == ""
        assert row_values(latest) == row_values(c.history.order_by("history_id").first()) | {
            "history_type": "~",
            "history_action": "contribution.paid",
            "history_change_reason": "",
            "history_user_id": None,
        }
    bulk_words = history_entries(one, viewer=finance)[-1]
    assert (bulk_words.who, bulk_words.phrase, bulk_words.reason) == (
        classic_words.who,
        classic_words.phrase,
        classic_words.reason,
    )
    assert bulk_words.sentence == classic_words.sentence
