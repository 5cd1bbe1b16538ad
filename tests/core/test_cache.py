"""core.cache.DatabaseCache: Django's database cache with set in one statement."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.cache import DatabaseCache

pytestmark = pytest.mark.django_db


def test_the_default_cache_without_redis_is_this_one():
    assert isinstance(caches["default"], DatabaseCache)


def test_set_stores_then_replaces_a_value():
    cache.set("k", [1.5, 2.5], 60)
    assert cache.get("k") == [1.5, 2.5]
    cache.set("k", {"a": "b"}, 60)
    assert cache.get("k") == {"a": "b"}
    cache.set("forever", "yes", None)
    assert cache.get("forever") == "yes"


def test_a_value_already_expired_is_not_found():
    cache.set("gone", "x", 60)
    cache.set("gone", "x", 0)  # Django's meaning: expire at once
    assert cache.get("gone") is None
    assert cache.get("gone", "default") == "default"


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def test_a_set_is_always_one_statement_on_postgresql():
    if not _is_postgres():
        pytest.skip("SQLite keeps Django's own set")
    counts = []
    for i in range(DatabaseCache.CULL_EVERY + 2):  # the culling set among them
        with CaptureQueriesContext(connection) as queries:
            cache.set(f"key{i}", i, 60)
        counts.append(len(queries))
    assert counts == [1] * len(counts)  # so every request costs the same statements
    assert all(cache.get(f"key{i}") == i for i in range(DatabaseCache.CULL_EVERY + 2))


def test_expired_rows_are_culled_and_live_ones_kept(settings):
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.DatabaseCache", "LOCATION": "honora_cache"}
    }
    small = caches.create_connection("default")
    small.CULL_EVERY = 1
    small.clear()
    for i in range(5):
        small.set(f"old{i}", i, 0)  # already expired
    small.set("live", "kept", 60)
    small.set("live", "still kept", 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM honora_cache")
        keys = [row[0] for row in cursor.fetchall()]
    if _is_postgres():
        assert keys == [small.make_key("live")]
    assert small.get("live") == "still kept"
    assert all(small.get(f"old{i}") is None for i in range(5))


def test_add_is_still_atomic_and_does_not_replace():
    assert cache.add("once", "first", 60)
    assert not cache.add("once", "second", 60)
    assert cache.get("once") == "first"


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_outside_a_transaction_is_a_cache_miss_not_an_error(monkeypatch):
    """As Django's own set: a lock timeout or a lost connection while setting a rate
    limit must not turn a read into a 500 (the one-statement upsert once let it through)."""
    if not _is_postgres():
        pytest.skip("SQLite keeps Django's own set")
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(self, sql, params=None):
        raise OperationalError("database is locked")

    with monkeypatch.context() as m:
        m.setattr(CursorWrapper, "execute", refuse)
        cache.set("k", "v", 60)  # no exception
    assert cache.get("k") is None
