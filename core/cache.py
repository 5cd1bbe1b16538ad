"""The database cache, with ``set`` in one statement on PostgreSQL.

Without Redis, rate limits and used two-step codes live in the database's cache table,
shared by every process. Django's ``DatabaseCache.set`` costs five statements
(``SELECT COUNT(*)`` of the whole table to decide on culling, then a transaction with a
``SELECT`` and an ``UPDATE`` or ``INSERT``), and the API's read limit sets a key on every
request. On PostgreSQL ``set`` here is one ``INSERT … ON CONFLICT DO UPDATE`` (atomic,
where Django's is a read then a write); on one ``set`` in ``CULL_EVERY`` per process the
same statement also deletes the expired rows (a data-modifying ``WITH``), so a request
always costs the same number of statements. Only expired rows are culled: Django's cull
past ``MAX_ENTRIES`` also drops live keys, a rate limit's among them. Every key Honora
sets expires. ``get``, ``add`` (atomic, which ``engagements.import_once`` relies on),
``touch``, ``delete`` and everything on SQLite are Django's own.
"""

from __future__ import annotations

import base64
import pickle
from datetime import UTC, datetime
from itertools import count
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import DatabaseError, connections, router, transaction
from django.utils.timezone import now as tz_now

UPSERT_VENDORS = ("postgresql",)


class DatabaseCache(DjangoDatabaseCache):
    CULL_EVERY = 50

    def __init__(self, table: str, params: dict[str, Any]) -> None:
        super().__init__(table, params)
        self._sets = count()

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in UPSERT_VENDORS:
            self._base_set("set", key, value, timeout)  # type: ignore[attr-defined]
            return
        backend_timeout = self.get_backend_timeout(timeout)
        # As Django's own set: the same expiry values, so get() reads them alike.
        expires = (
            datetime.max  # noqa: DTZ901 (Django's own value for "never")
            if backend_timeout is None
            else datetime.fromtimestamp(backend_timeout, tz=UTC if settings.USE_TZ else None)
        ).replace(microsecond=0)
        pickled = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        quote = connection.ops.quote_name
        table = quote(self._table)  # type: ignore[attr-defined]
        key_col, value_col, expires_col = (quote(c) for c in ("cache_key", "value", "expires"))
        params: list[Any] = []
        cull = ""
        if next(self._sets) % self.CULL_EVERY == 0:
            cull = (  # never the key being set: one statement may not change a row twice
                f"WITH culled AS (DELETE FROM {table}"  # noqa: S608
                f" WHERE {expires_col} < %s AND {key_col} <> %s) "
            )
            params = [connection.ops.adapt_datetimefield_value(tz_now()), key]
        upsert = (  # the names are quoted; the values are parameters
            f"{cull}INSERT INTO {table} ({key_col}, {value_col}, {expires_col})"  # noqa: S608
            f" VALUES (%s, %s, %s) ON CONFLICT ({key_col}) DO UPDATE"
            f" SET {value_col} = EXCLUDED.{value_col}, {expires_col} = EXCLUDED.{expires_col}"
        )
        params += [key, pickled, connection.ops.adapt_datetimefield_value(expires)]
        if connection.in_atomic_block:
            # Inside the caller's transaction a failed write has aborted that transaction:
            # the caller must hear of it.
            with connection.cursor() as cursor:
                cursor.execute(upsert, params)
            return
        try:
            # As Django's own set: a failed write (a lock timeout, a lost connection) is a
            # cache miss, never an error for the request.
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.execute(upsert, params)
        except DatabaseError:
            return
