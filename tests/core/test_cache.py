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


def test_a_set_is_one_statement_most_of_the_time():
    cache.set("warm", 1, 60)  # whichever set counts the table, it is not all of them
    counts = []
    for i in range(DatabaseCache.CULL_EVERY):
        with CaptureQueriesContext(connection) as queries:
            cache.set(f"key{i}", i, 60)
        counts.append(len(queries))
    assert counts.count(1) == DatabaseCache.CULL_EVERY - 1
    assert max(counts) <= 2  # the count; a cull only past MAX_ENTRIES
    assert all(cache.get(f"key{i}") == i for i in range(DatabaseCache.CULL_EVERY))


def test_the_table_is_still_culled_past_max_entries(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.DatabaseCache",
            "LOCATION": "honora_cache",
            "OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2},
        }
    }
    small = caches.create_connection("default")
    small.CULL_EVERY = 1
    small.clear()
    for i in range(30):
        small.set(f"n{i}", i, 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM honora_cache")
        assert cursor.fetchone()[0] <= 11


def test_add_is_still_atomic_and_does_not_replace():
    assert cache.add("once", "first", 60)
    assert not cache.add("once", "second", 60)
    assert cache.get("once") == "first"
