"""History written in bulk is the history a stamped save writes; long id lists are one parameter."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import User
from core.history import history_row, stamp, write_history_in_sql, write_history_rows
from core.sql import in_ids
from payments import actions
from payments.models import PayoutBatch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BOOKKEEPING = {"history_id", "history_date"}


def _as_dict(row) -> dict:
    return {
        f.attname: getattr(row, f.attname)
        for f in row._meta.concrete_fields
        if f.attname not in BOOKKEEPING
    }


def _stamped_batch(by, **fields) -> PayoutBatch:
    batch = PayoutBatch(cutoff_date=date(2026, 3, 31), created_by=by, **fields)
    stamp(batch, by=by, action=actions.BATCH_BUILT, reason="month end")
    batch.save()
    return batch


def test_a_bulk_row_is_the_row_a_stamped_save_writes(finance):
    batch = _stamped_batch(finance, note="March")
    [saved] = batch.history.all()
    row = history_row(
        batch,
        by=finance,
        action=actions.BATCH_BUILT,
        reason="month end",
        when=timezone.now(),
        created=True,
    )
    assert _as_dict(row) == _as_dict(saved)
    assert (row.history_type, row.history_action, row.history_change_reason) == (
        "+",
        "batch.built",
        "month end",
    )

    batch.note = "March, again"
    stamp(batch, by=finance, action=actions.BATCH_SUBMITTED)
    batch.save()
    changed = batch.history.order_by("history_id").last()
    again = history_row(batch, by=finance, action=actions.BATCH_SUBMITTED, when=timezone.now())
    assert _as_dict(again) == _as_dict(changed)
    assert again.history_type == "~" and again.history_change_reason == ""


def test_rows_written_in_bulk_or_in_sql_read_back_as_the_saved_ones(finance):
    first = _stamped_batch(finance, note="one")
    second = _stamped_batch(finance, note="two")
    saved = {b.pk: _as_dict(b.history.get()) for b in (first, second)}
    when = timezone.now()

    write_history_rows(
        [
            history_row(
                b,
                by=finance,
                action=actions.BATCH_BUILT,
                reason="month end",
                when=when,
                created=True,
            )
            for b in (first, second)
        ]
    )
    written = write_history_in_sql(
        PayoutBatch.objects.filter(pk__in=[first.pk, second.pk]),
        by=finance,
        action=actions.BATCH_BUILT,
        reason="month end",
        when=when,
        created=True,
    )
    assert written == 2
    for b in (first, second):
        rows = list(b.history.order_by("history_id"))
        assert len(rows) == 3
        assert [_as_dict(r) for r in rows] == [saved[b.pk]] * 3
        assert rows[1].history_date == rows[2].history_date == when
        assert rows[2].history_user == finance


def test_history_switched_off_writes_nothing_in_bulk(finance, settings):
    batch = _stamped_batch(finance)
    settings.SIMPLE_HISTORY_ENABLED = False
    row = history_row(batch, by=finance, action=actions.BATCH_BUILT, when=timezone.now())
    write_history_rows([row])
    assert (
        write_history_in_sql(
            PayoutBatch.objects.all(), by=finance, action=actions.BATCH_BUILT, when=timezone.now()
        )
        == 0
    )
    assert batch.history.count() == 1


@pytest.mark.parametrize("count", [0, 1, 5])
def test_in_ids_finds_what_the_plain_lookup_finds(count):
    users = [UserFactory() for _ in range(5)]
    ids = [u.pk for u in users[:count]] + [10**9]  # and one that does not exist
    assert set(User.objects.filter(in_ids("pk", ids))) == set(User.objects.filter(pk__in=ids))
    assert set(User.objects.filter(in_ids("pk", iter(ids)))) == set(users[:count])
    assert not User.objects.filter(in_ids("pk", []))
    assert User.objects.exclude(in_ids("pk", ids)).count() == User.objects.count() - count
