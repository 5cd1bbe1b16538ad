"""What the API keeps and shows of personal data."""

import pytest
from django.db import connection

from api.models import IdempotencyRecord
from consultants.models import VaultReveal
from consultants.services import consultant_update_preferences, vault_update

pytestmark = pytest.mark.django_db


def test_a_reveal_is_never_stored_for_replay_and_each_call_is_recorded(api, consultant, finance):
    vault_update(consultant=consultant, by=finance, reason="", taxpayer_id="123-45-6789")
    url = f"/api/v1/consultants/{consultant.public_id}/reveal/"
    body = {"field": "taxpayer_id", "reason": "1099 filing"}
    first = api["finance"].post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="reveal-1")
    second = api["finance"].post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="reveal-1")
    assert first.json()["value"] == second.json()["value"] == "123-45-6789"
    assert "Idempotent-Replayed" not in second
    assert VaultReveal.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_stored_answers_are_encrypted_at_rest(api):
    response = api["coordinator"].post(
        "/api/v1/consultants/",
        {"display_name": "Nova", "email": "nova.private@example.net", "phone": "555-0199"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-nova",
    )
    assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_json FROM api_idempotencyrecord")
        (raw,) = cursor.fetchone()
    assert "Nova" not in raw and "nova.private" not in raw
    replay = api["coordinator"].post(
        "/api/v1/consultants/",
        {"display_name": "Nova", "email": "nova.private@example.net", "phone": "555-0199"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-nova",
    )
    assert replay.json() == response.json() and replay["Idempotent-Replayed"] == "true"


def test_staff_read_no_contact_details_in_a_consultants_history(api, consultant):
    consultant_update_preferences(
        consultant=consultant,
        by=consultant.user,
        email="new.private@example.net",
        safe_contact_notes="only after 6pm",
    )
    query = {"type": "consultant", "id": str(consultant.public_id)}
    staff = api["coordinator"].get("/api/v1/history/", query).content.decode()
    assert "new.private" not in staff and "6pm" not in staff
    own = api["consultant"].get("/api/v1/history/", query).content.decode()
    assert "new.private@example.net" in own
