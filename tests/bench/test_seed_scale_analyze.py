"""``seed_demo --scale`` ends with ANALYZE on PostgreSQL, after its last bulk insert.

A table just grown a thousandfold by bulk inserts is planned as if it were empty
until it is analyzed (issue 18: the dashboard's unpaid-work list took 4.5 s on
such a plan), and the benches time queries on that seed.
"""

from __future__ import annotations

import pytest
from django.db import connection

from demo.data import seed_scale
from tests.conftest import requires_postgres


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.sql.append(sql)
        return execute(sql, params, many, context)


@pytest.mark.django_db
def test_seed_scale_analyzes_after_its_last_insert_on_postgresql():
    statements = Statements()
    with connection.execute_wrapper(statements):
        seed_scale(consultants=1)
    kinds = [s.split(None, 1)[0].upper() for s in statements.sql]
    if connection.vendor == "postgresql":
        assert kinds.count("ANALYZE") == 1
        last_insert = max(i for i, k in enumerate(kinds) if k == "INSERT")
        assert kinds.index("ANALYZE") > last_insert
    else:
        assert "ANALYZE" not in kinds


@requires_postgres
@pytest.mark.django_db
def test_the_analyze_leaves_statistics_for_the_contributions():
    seed_scale(consultants=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'engagements_contribution'")
        (reltuples,) = cursor.fetchone()
    assert reltuples >= 52  # the planner knows the rows are there
