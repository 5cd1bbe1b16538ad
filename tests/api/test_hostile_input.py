"""Malformed bodies are 400s with the API's error shape, never 500s."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.sessions.models import Session

from api.parsers import MAX_DEPTH, json_depth

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,
        '{"a":' * 5000 + "1" + "}" * 5000,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    ],
)
def test_deeply_nested_json_is_a_400(api, body):
    response = api["coordinator"].post(
        "/api/v1/contributions/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "nested" in response.json()["message"]


def test_a_body_over_the_upload_limit_is_a_400(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"note": "' + "x" * 2000 + '"}'
    response = api["coordinator"].post(
        "/api/v1/contributions/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "larger than 1000 bytes" in response.json()["message"]


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"]]]"}') == 1
    assert json_depth(b'{"a": [{"b": [1, 2]}]}') == 4


def test_ordinary_bodies_still_parse(api, engagement):
    response = api["coordinator"].post(
        "/api/v1/contributions/",
        data={
            "engagement": str(engagement.public_id),
            "kind": "hours",
            "activity": "work",
            "date": "2026-03-12",
            "quantity": "2",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_token_calls_leave_no_session_rows_behind(api):
    before = Session.objects.count()
    for _ in range(3):
        assert api["consultant"].get("/api/v1/me/").status_code == 200
        assert api["coordinator"].get("/api/v1/contributions/").status_code == 200
    assert Session.objects.count() == before


def _post_paths() -> list[str]:
    """Every POST operation of the committed schema, path parameters filled in."""
    spec = yaml.safe_load((Path(settings.BASE_DIR) / "api" / "schema.yml").read_text())
    paths = []
    for path, operations in spec["paths"].items():
        if "post" in operations:
            paths.append(re.sub(r"\{[^}]+\}", str(uuid.UUID(int=7)), path))
    return paths


@pytest.mark.parametrize("role", ["consultant", "coordinator", "finance", "admin"])
def test_no_post_operation_answers_a_nested_body_with_a_server_error(api, role):
    body = "[" * 5000 + "]" * 5000
    paths = _post_paths()
    assert len(paths) > 10
    for path in paths:
        response = api[role].post(path, data=body, content_type="application/json")
        assert response.status_code < 500, (path, response.status_code)
