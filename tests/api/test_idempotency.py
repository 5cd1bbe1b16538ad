import threading

import pytest
from rest_framework.test import APIClient

from api.models import IdempotencyRecord
from engagements.models import Contribution
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db

URL = "/api/v1/contributions/"


def body(engagement, quantity="2.00"):
    return {
        "engagement": str(engagement.public_id),
        "kind": "hours",
        "activity": "work",
        "date": "2026-03-12",
        "quantity": quantity,
    }


def test_a_retry_returns_the_first_answer_and_creates_nothing_more(api, engagement):
    client = api["coordinator"]
    first = client.post(URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    retry = client.post(URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Contribution.objects.count() == 1


def test_same_key_different_body_is_refused(api, engagement):
    client = api["coordinator"]
    client.post(URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(URL, body(engagement, "3.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Contribution.objects.count() == 1


def test_errors_are_replayed_too_and_state_actions_are_covered(api, submitted):
    client = api["coordinator2"]
    url = f"{URL}{submitted.public_id}/approve/"
    first = client.post(url, HTTP_IDEMPOTENCY_KEY="a-1")
    second = client.post(url, HTTP_IDEMPOTENCY_KEY="a-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    # A stored 409 replays as a 409, without running again.
    api["coordinator"].post(
        f"{URL}{submitted.public_id}/reject/",
        {"reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r-1",
    )
    replay = api["coordinator"].post(
        f"{URL}{submitted.public_id}/reject/",
        {"reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r-1",
    )
    assert replay.status_code == 409 and replay["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_user(api, engagement):
    api["coordinator"].post(URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    theirs = api["coordinator2"].post(
        URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Contribution.objects.count() == 2


def test_unauthenticated_answers_are_not_stored(api, engagement):
    anonymous = api["anonymous"].post(
        URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert anonymous.status_code == 401
    assert IdempotencyRecord.objects.count() == 0


def test_overlong_key_is_a_clear_400(api, engagement):
    response = api["coordinator"].post(
        URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="x" * 300
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Contribution.objects.count() == 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_retries_create_one_contribution(engagement, coordinator):
    from accounts.services import api_token_create

    _row, token = api_token_create(user=coordinator, name="race", days=1)
    barrier = threading.Barrier(2)
    results = []

    def send():
        from django.db import connection

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        response = client.post(URL, body(engagement), format="json", HTTP_IDEMPOTENCY_KEY="race-1")
        results.append((response.status_code, response.json()["public_id"]))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [201, 201]
    assert results[0][1] == results[1][1]
    assert Contribution.objects.count() == 1
