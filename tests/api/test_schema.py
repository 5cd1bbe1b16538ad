"""The committed OpenAPI schema is the contract: code and file must agree."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = pytest.mark.django_db

SCHEMA = Path(settings.BASE_DIR) / "api" / "schema.yml"


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")
    assert generated.read_text() == SCHEMA.read_text(), (
        "api/schema.yml is out of date: run `uv run manage.py spectacular --file api/schema.yml`"
    )


def test_schema_and_docs_are_served(client, coordinator):
    client.force_login(coordinator)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/contributions/{public_id}/approve/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    # Served from our own static files: nothing is fetched from a CDN.
    assert b"cdn.jsdelivr" not in docs.content and b"unpkg.com" not in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content
