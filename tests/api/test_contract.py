"""The schema declares what the server does: idempotency headers, bounds, state answers."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from django.conf import settings

pytestmark = pytest.mark.django_db

SCHEMA = yaml.safe_load((Path(settings.BASE_DIR) / "api" / "schema.yml").read_text())
KEY_REF = {"$ref": "#/components/parameters/IdempotencyKey"}


def _operations():
    for path, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_idempotency_key_is_declared_on_every_post_that_honours_it_and_only_there():
    with_key = {
        (path, method) for path, method, op in _operations() if KEY_REF in op.get("parameters", [])
    }
    posts = {(path, method) for path, method, _op in _operations() if method == "post"}
    # A reveal is recorded afresh each time; the tax export is a reveal of its own.
    assert posts - with_key == {
        ("/api/v1/consultants/{public_id}/reveal/", "post"),
        ("/api/v1/tax-summaries/{year}/export/", "post"),
    }
    assert all(method == "post" for _path, method in with_key)
    key = SCHEMA["components"]["parameters"]["IdempotencyKey"]
    assert (key["in"], key["schema"]["maxLength"]) == ("header", 255)
    create = SCHEMA["paths"]["/api/v1/contributions/"]["post"]["responses"]
    assert create["201"]["headers"]["Idempotent-Replayed"] == {
        "$ref": "#/components/headers/Idempotent-Replayed"
    }
    assert all(
        "Retry-After" in op["responses"]["429"].get("headers", {})
        for _path, _method, op in _operations()
    )


def test_what_the_server_refuses_the_schema_refuses(api):
    params = {
        p["name"]: p["schema"]
        for p in SCHEMA["paths"]["/api/v1/contributions/"]["get"]["parameters"]
    }
    assert params["phase"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    ordering = re.compile(params["ordering"]["pattern"])
    for value in ("", "-", "date,", "name"):
        assert not ordering.match(value)
        assert (
            api["coordinator"].get("/api/v1/contributions/", {"ordering": value}).status_code == 400
        )
    for value in ("-date", "date,-id"):
        assert ordering.match(value)
        assert (
            api["coordinator"].get("/api/v1/contributions/", {"ordering": value}).status_code == 200
        )
    assert api["coordinator"].get("/api/v1/contributions/", {"phase": "0"}).status_code == 400
    hours = SCHEMA["components"]["schemas"]["HoursContributionCreateRequest"]["properties"]
    quarter = re.compile(hours["quantity"]["pattern"])
    assert [
        q for q in ("0", "0.25", "1.3", "2.5", "24", "24.25", "-1", "") if quarter.match(q)
    ] == [
        "0.25",
        "2.5",
        "24",
    ]


def test_nothing_left_to_pay_is_a_state_conflict_not_a_bad_request(api):
    response = api["finance"].post(
        "/api/v1/payout-batches/", {"cutoff_date": date(2026, 3, 31).isoformat()}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "nothing_to_pay"
