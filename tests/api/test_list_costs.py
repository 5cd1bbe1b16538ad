"""What an API list costs: no per-request lookups it does not need, no encrypted column
read (nor decrypted) that the response does not contain, and the same answer as before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

ENCRYPTED = ('"email"', '"phone"', '"safe_contact_notes"')


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [q["sql"] for q in ctx.captured_queries]


def _consultant_columns(sql: str) -> list[str]:
    """The encrypted consultant columns a statement selects."""
    return [c for c in ENCRYPTED if f'"consultants_consultant".{c}' in sql]


@pytest.mark.parametrize("role", ["coordinator", "finance"])
def test_a_token_request_never_looks_up_the_callers_consultant_record(api, engagement, role):
    for sql in _queries(api[role], "/api/v1/contributions/"):
        assert '"consultants_consultant"."user_id" =' not in sql, sql
        assert "django_session" not in sql, sql  # nor loads or saves a session


def test_the_throttle_reads_and_writes_its_key_in_two_statements(api, engagement):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps Django's own cache set (core.cache)")
    cache_statements = [
        q for q in _queries(api["coordinator"], "/api/v1/consultants/") if "honora_cache" in q
    ]
    # The failed sign-in count for the IP, the read limit's key, and its one-statement set.
    assert len(cache_statements) <= 3, cache_statements


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("coordinator", "/api/v1/consultants/"),
        ("finance", "/api/v1/consultants/"),
        ("coordinator", "/api/v1/contributions/"),
        ("consultant", "/api/v1/contributions/"),
        ("finance", "/api/v1/payments/"),
    ],
)
def test_lists_do_not_read_encrypted_contact_details(api, paid_by_check, role, url):
    for sql in _queries(api[role], url):
        assert not _consultant_columns(sql), sql


def test_a_consultant_s_payments_do_not_query_the_attempts_they_never_see(paid_by_check):
    payment, _receipt = paid_by_check
    client = client_for(payment.consultant.user)
    statements = _queries(client, "/api/v1/payments/")
    assert not [q for q in statements if "payments_paymentattempt" in q]
    body = client.get("/api/v1/payments/").json()["results"]
    assert body and all(p["attempts"] == [] for p in body)


def test_finance_still_gets_the_last_four_digits_and_coordinators_do_not(api, consultant):
    from consultants.models import TaxForm

    TaxForm.objects.update_or_create(consultant=consultant, defaults={"tin_last4": "1234"})
    rows = api["finance"].get("/api/v1/consultants/").json()["results"]
    assert {
        r["taxpayer_id_last4"] for r in rows if r["public_id"] == str(consultant.public_id)
    } == {"1234"}
    rows = api["coordinator"].get("/api/v1/consultants/").json()["results"]
    assert all(r["taxpayer_id_last4"] is None for r in rows)


# --- api.serializers.common.Flat: the same output as DRF's own to_representation ----------


def _both(serializer_class, instances, **context):
    from rest_framework import serializers

    flat = serializer_class(context=context)
    drf = serializer_class(context=context)
    for instance in instances:
        fast = flat.to_representation(instance)
        slow = serializers.Serializer.to_representation(drf, instance)
        if serializer_class.__name__ == "PaymentSerializer":  # what its own override does
            slow = {**slow, **{k: fast[k] for k in fast if k in _finance_only()}}
        assert fast == slow
        assert list(fast) == list(slow)  # the same keys in the same order
    return len(instances)


def _finance_only():
    from api.serializers.payments import FINANCE_ONLY_FIELDS

    return FINANCE_ONLY_FIELDS


def test_flat_rows_equal_drf_s_for_contributions(paid_by_check, submitted, coordinator2):
    from decimal import Decimal

    from api.serializers.engagements import ContributionSerializer
    from api.views.engagements import ContributionViewSet
    from engagements.models import Contribution
    from engagements.services.contributions import contribution_adjust

    paid = Contribution.objects.filter(status="paid").first()
    delta = "amount_delta" if paid.kind == "reimbursement" else "quantity_delta"
    contribution_adjust(
        contribution=paid, by=coordinator2, reason="one more", **{delta: Decimal("1")}
    )
    assert Contribution.objects.filter(adjusts__isnull=False).exists()
    view = ContributionViewSet()
    view.request = type("R", (), {"user": coordinator2})()
    for action in ("list", "create"):  # narrow columns, and every column
        view.action = action
        rows = list(view.get_queryset())
        kinds = {(r.approved_by_id is None, r.adjusts_id is None) for r in rows}
        assert len(kinds) >= 2
        assert _both(ContributionSerializer, rows) == len(rows) >= 3


def test_flat_rows_equal_drf_s_for_consultants_and_payments(paid_by_check, outsider, finance):
    from api.serializers.consultants import ConsultantSerializer
    from api.serializers.payments import (
        PaymentAttemptSerializer,
        PaymentItemSerializer,
        PaymentSerializer,
    )
    from api.views.consultants import ConsultantViewSet
    from api.views.payments import PaymentViewSet
    from payments.models import PaymentAttempt

    request = type("R", (), {"user": finance})()
    view = ConsultantViewSet()
    view.request, view.action = request, "list"
    consultants = list(view.get_queryset())  # the outsider has no tax form
    assert _both(ConsultantSerializer, consultants, request=request) == len(consultants) >= 2

    view = PaymentViewSet()
    view.request, view.action = request, "list"
    payments = list(view.get_queryset())
    for finance_context in (True, False):
        assert _both(PaymentSerializer, payments, finance=finance_context) == len(payments)
    items = [i for p in payments for i in p.items.all()]
    assert _both(PaymentItemSerializer, items) == len(items) >= 1
    attempts = list(PaymentAttempt.objects.all())
    assert _both(PaymentAttemptSerializer, attempts) == len(attempts)
