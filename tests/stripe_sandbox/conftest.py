"""The sandbox's tests: its fixtures are in ``fixtures.py`` (loaded for the whole suite)."""

import pytest


@pytest.fixture(autouse=True)
def _empty_cache():
    # The sandbox knows nothing of Django: no database is set up for these tests alone,
    # so there is no cache table to empty (tests/conftest.py's fixture would need one).
    return None
