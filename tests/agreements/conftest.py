# The API tables' clients, one per standing role (tests/api/conftest.py).
from tests.api.conftest import _clear_cache, api  # noqa: F401
