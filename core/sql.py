"""Filters that stay cheap when they name thousands of rows.

``field__in=[...]`` sends one placeholder per value: with the ids of a whole batch's
work (thousands of them) building and sending the statement costs far more than
running it (a third of a second for 5,000 ids on PostgreSQL, where psycopg splits
the statement at every placeholder). ``in_ids`` sends the list as one parameter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL


def in_ids(field: str, ids: Iterable[int]) -> Q:
    """``Q(<field>__in=ids)`` with the ids as one parameter: a PostgreSQL array, or a
    JSON array on SQLite; any other database gets the plain lookup."""
    values = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (values,))})
    if connection.vendor == "sqlite":
        return Q(
            **{f"{field}__in": RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))}
        )
    return Q(**{f"{field}__in": values})
