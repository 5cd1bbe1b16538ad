"""The public receipt check (page and API): genuine or not, never who was paid."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from payments.documents.receipts import receipt_replace
from tests.payments.documents_support import LEGAL_NAME, PSEUDONYM

pytestmark = pytest.mark.django_db

UNKNOWN = ("ZZZZZZZZZZZZ", "abc", "0O1I", "<script>", "%00", "A" * 200, "R-2026-000001", "ü")


@pytest.fixture
def paid(paid_by_check):
    # Named on receipts by the legal name: the strongest case for keeping it off the check.
    return paid_by_check


def _names(payment):
    consultant = payment.consultant
    return (consultant.display_name, PSEUDONYM, LEGAL_NAME, consultant.email, "Rivera")


def _page(client, code):
    return client.get(reverse("receipt_verify", kwargs={"code": code}))


def test_the_page_confirms_the_receipt_without_naming_anyone(client, paid):
    payment, receipt = paid
    response = _page(client, receipt.verification_code)
    assert response.status_code == 200
    text = response.content.decode()
    assert f"Receipt {receipt.number} is genuine" in text
    assert receipt.paid_on.strftime("%-d %B %Y") in text and "$323.40" in text and "Valid" in text
    assert "Honora Demo Research Collaborative" in text  # the issuer, as the receipt names it
    for name in _names(payment):
        assert name not in text
    assert "no-store" in response["Cache-Control"]


def test_codes_are_read_in_any_case(client, paid):
    _payment, receipt = paid
    assert _page(client, receipt.verification_code.lower()).status_code == 200


def test_a_replaced_receipt_says_by_which(client, paid, finance):
    _payment, original = paid
    replacement = receipt_replace(receipt=original, by=finance, reason="Typo in the reference")
    text = _page(client, original.verification_code).content.decode()
    assert f"replaced by receipt {replacement.number}" in text
    assert f"Replaced by {replacement.number}" in text
    assert "Typo" not in text  # the reason is between finance and the consultant


@pytest.mark.parametrize("code", UNKNOWN)
def test_unknown_or_malformed_codes_get_a_plain_not_found(client, paid, code):
    response = _page(client, code)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Not found" in text and "No receipt has this verification code" in text
    assert paid[1].number not in text


def test_the_page_is_rate_limited(client, paid, settings):
    settings.RECEIPT_VERIFY_PER_MINUTE = 3
    _payment, receipt = paid
    statuses = [_page(client, receipt.verification_code).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_behind_a_proxy_each_client_has_its_own_limit(client, paid, settings):
    settings.RECEIPT_VERIFY_PER_MINUTE = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    _payment, receipt = paid
    url = f"/verify/{receipt.verification_code}/"

    def status(client_address):
        # Our proxy connects from 10.0.0.1 and appends the address it saw.
        return client.get(
            url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.9, {client_address}"
        ).status_code

    assert [status("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    # Another client behind the same proxy is not blocked by the first; the address
    # a client writes into the header itself (203.0.113.9) is not the one counted.
    assert [status("198.51.100.2") for _ in range(2)] == [200, 200]


def test_the_api_confirms_the_receipt_without_naming_anyone(paid):
    payment, receipt = paid
    client = APIClient()  # no token, no session: the check is public
    response = client.get(f"/api/v1/receipts/verify/{receipt.verification_code}/")
    assert response.status_code == 200
    assert response.json() == {
        "number": receipt.number,
        "issued_on": timezone.localdate(receipt.issued_at).isoformat(),
        "paid_on": receipt.paid_on.isoformat(),
        "total": "323.40",
        "currency": "USD",
        "status": "valid",
        "replaced_by": None,
    }
    for name in _names(payment):
        assert name not in response.content.decode()


def test_the_api_ignores_a_bad_token_on_the_public_check(paid):
    _payment, receipt = paid
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token hon_not_a_real_token")
    assert client.get(f"/api/v1/receipts/verify/{receipt.verification_code}/").status_code == 200


@pytest.mark.parametrize("code", [c for c in UNKNOWN if c not in ("%00",)])
def test_the_api_answers_unknown_codes_with_not_found_in_the_error_shape(paid, code):
    response = APIClient().get(f"/api/v1/receipts/verify/{code}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert set(response.json()) == {"code", "message", "fields"}


def test_the_api_check_is_throttled(paid):
    from rest_framework.throttling import SimpleRateThrottle

    _payment, receipt = paid
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "receipt_verify": "2/min"}
    try:
        client = APIClient()
        url = f"/api/v1/receipts/verify/{receipt.verification_code}/"
        statuses = [client.get(url).status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert statuses == [200, 200, 429]


def test_a_receipt_whose_payment_was_reversed_no_longer_verifies_as_valid(client, paid, finance2):
    from payments.services.finance import payment_mark_returned

    payment, receipt = paid
    payment_mark_returned(payment=payment, by=finance2, reason="The check came back uncashed")
    text = _page(client, receipt.verification_code).content.decode()
    assert "no longer valid" in text.lower() and "is genuine and in force" not in text
    assert f"Receipt {receipt.number} was issued by Honora Demo Research Collaborative" in text
    body = APIClient().get(f"/api/v1/receipts/verify/{receipt.verification_code}/").json()
    assert body["status"] == "void" and body["replaced_by"] is None
    for name in _names(payment):
        assert name not in text
