"""Receipts, statements and tax summaries over the API: every endpoint as every role.

``consultant`` owns the paid payment, its receipt and a statement; ``outsider``
is another consultant. Finance sees every document; a consultant their own (404
for anyone else's); coordinators and admins get 403; anonymous callers 401.
"""

from __future__ import annotations

import csv
import io

import pytest

from consultants.models import VaultReveal
from payments.documents.models import AnnualStatement, Receipt
from payments.documents.receipts import receipt_replace
from payments.documents.statements import statement_generate
from tests.api.conftest import client_for
from tests.payments.documents_support import (
    LEGAL_NAME,
    PSEUDONYM,
    TIN,
    assert_pdf_states_the_receipt,
    paid_with_receipt,
    pdf_text,
)

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")
A, C, O, CO, F, AD = ROLES  # noqa: E741 - short names keep the table readable

OWNED = {A: 401, C: 200, O: 404, CO: 403, F: 200, AD: 403}
LISTS = {A: 401, C: 200, O: 200, CO: 403, F: 200, AD: 403}
FINANCE = {A: 401, C: 403, O: 403, CO: 403, F: 200, AD: 403}


def row(method, path, expected, body=None):
    return pytest.param(method, path, expected, body, id=f"{method} {path}")


# Paths use {payment}, {receipt}, {statement}, {year}, {code}, {consultant}.
TABLE = [
    row("get", "/api/v1/payments/{payment}/receipt/", OWNED),
    row("get", "/api/v1/receipts/", LISTS),
    row("get", "/api/v1/receipts/?year={year}&status=valid", LISTS),
    row("get", "/api/v1/receipts/{receipt}/", OWNED),
    row("get", "/api/v1/receipts/{receipt}/pdf/", OWNED),
    row(
        "post",
        "/api/v1/receipts/{receipt}/replace/",
        {**OWNED, C: 403, F: 201},
        {"reason": "New check number"},
    ),
    row("get", "/api/v1/statements/", LISTS),
    row("get", "/api/v1/statements/?year={year}&consultant={consultant}", LISTS),
    row("get", "/api/v1/statements/{statement}/", OWNED),
    row("get", "/api/v1/statements/{statement}/pdf/", OWNED),
    row("post", "/api/v1/statements/", {**LISTS, C: 202, O: 202, F: 202}, {"year": "{year}"}),
    row(
        "post",
        "/api/v1/statements/",
        {**LISTS, C: 202, O: 404, F: 202},
        {"year": "{year}", "consultant": "{consultant}"},
    ),
    row("get", "/api/v1/tax-summaries/{year}/", FINANCE),
    row("post", "/api/v1/tax-summaries/{year}/export/", FINANCE, {"reason": "1099 filing"}),
    # Public: no sign-in needed, whoever asks.
    row("get", "/api/v1/receipts/verify/{code}/", dict.fromkeys(ROLES, 200)),
]


@pytest.fixture
def world(
    consultant, outsider, engagement, coordinator, coordinator2, finance, finance2, admin_user
):
    payment, receipt = paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
        name_as="pseudonym",
    )
    statement = statement_generate(consultant=consultant, year=receipt.year)
    clients = {
        A: client_for(None),
        C: client_for(consultant.user),
        O: client_for(outsider.user),
        CO: client_for(coordinator),
        F: client_for(finance),
        AD: client_for(admin_user),
    }
    return clients, payment, receipt, statement


def _fill(text, payment, receipt, statement):
    return text.format(
        payment=payment.public_id,
        receipt=receipt.public_id,
        statement=statement.public_id,
        year=receipt.year,
        code=receipt.verification_code,
        consultant=payment.consultant.public_id,
    )


@pytest.mark.parametrize(("method", "path", "expected", "body"), TABLE)
@pytest.mark.parametrize("role", ROLES)
def test_endpoint_access(world, role, method, path, expected, body):
    clients, payment, receipt, statement = world
    url = _fill(path, payment, receipt, statement)
    client = clients[role]
    if method == "get":
        response = client.get(url)
    else:
        data = {k: _fill(v, payment, receipt, statement) for k, v in (body or {}).items()}
        if "year" in data:
            data["year"] = int(data["year"])
        response = client.post(url, data, format="json")
    assert response.status_code == expected[role], (role, url, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "fields"}
        assert b"%PDF" not in response.content


def test_the_payment_receipt_is_the_stored_pdf(world):
    clients, payment, receipt, _statement = world
    for role in (C, F):
        response = clients[role].get(f"/api/v1/payments/{payment.public_id}/receipt/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="{receipt.number}.pdf"'
        assert "no-store" in response["Cache-Control"]
        with receipt.pdf.open("rb") as stored:
            assert response.content == stored.read()
        assert_pdf_states_the_receipt(pdf_text(response.content), receipt, name=PSEUDONYM)


def test_while_rendering_the_answer_is_409_not_ready(world, finance):
    clients, payment, original, _statement = world
    replacement = receipt_replace(receipt=original, by=finance, reason="Typo")
    for url in (
        f"/api/v1/payments/{payment.public_id}/receipt/",
        f"/api/v1/receipts/{replacement.public_id}/pdf/",
    ):
        response = clients[C].get(url, HTTP_ACCEPT="application/pdf")
        assert response.status_code == 409
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "not_ready"


def test_a_tampered_receipt_is_refused_over_the_api(world):
    clients, _payment, receipt, _statement = world
    with receipt.pdf.open("wb") as handle:
        handle.write(b"%PDF-1.7 forged")
    response = clients[F].get(f"/api/v1/receipts/{receipt.public_id}/pdf/")
    assert response.status_code == 409
    assert response.json()["code"] == "document_unavailable"
    assert b"forged" not in response.content


def test_receipts_list_replacements_both_ways(world, finance):
    clients, payment, original, _statement = world
    replacement = receipt_replace(receipt=original, by=finance, reason="Typo")
    body = clients[C].get("/api/v1/receipts/").json()
    by_number = {r["number"]: r for r in body["results"]}
    old, new = by_number[original.number], by_number[replacement.number]
    assert old["status"] == "replaced" and old["replaced_by"] == str(replacement.public_id)
    assert old["replaced_by_number"] == replacement.number and old["pdf_ready"] is True
    assert new["status"] == "valid" and new["replaces"] == str(original.public_id)
    assert new["replaces_number"] == original.number and new["pdf_ready"] is False
    assert new["reason"] == "Typo"
    assert old["total"] == "323.40" and old["currency"] == "USD"
    assert old["payment"] == str(payment.public_id)
    assert old["verification_code"] == original.verification_code
    for name in (LEGAL_NAME, PSEUDONYM):
        assert name not in str(body)
    valid = clients[F].get("/api/v1/receipts/?status=valid").json()["results"]
    assert [r["number"] for r in valid] == [replacement.number]
    # The outsider sees none of them.
    assert clients[O].get("/api/v1/receipts/").json()["results"] == []


def test_finance_replaces_with_a_reason(world):
    clients, _payment, original, _statement = world
    url = f"/api/v1/receipts/{original.public_id}/replace/"
    assert clients[F].post(url, {"reason": ""}, format="json").status_code == 400
    response = clients[F].post(url, {"reason": "Name change"}, format="json")
    assert response.status_code == 201
    assert response.json()["replaces"] == str(original.public_id)
    assert clients[F].post(url, {"reason": "again"}, format="json").status_code == 409
    assert Receipt.objects.count() == 2


def test_statements_are_served_as_stored(world):
    clients, _payment, receipt, statement = world
    listed = clients[C].get(f"/api/v1/statements/?year={receipt.year}").json()["results"]
    assert [s["public_id"] for s in listed] == [str(statement.public_id)]
    assert listed[0]["pay_total"] == "300.00" and listed[0]["reimbursement_total"] == "23.40"
    response = clients[C].get(f"/api/v1/statements/{statement.public_id}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert f"For {PSEUDONYM}" in text and receipt.number in text


def test_asking_for_a_statement_answers_202_and_enqueues(world, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    clients, payment, receipt, _statement = world
    with django_capture_on_commit_callbacks(execute=True):
        response = clients[C].post("/api/v1/statements/", {"year": receipt.year}, format="json")
    assert response.status_code == 202
    assert response.json() == {
        "year": receipt.year,
        "count": 1,
        "consultants": [str(payment.consultant.public_id)],
    }
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["args"][:2] == [payment.consultant.pk, receipt.year]
    assert AnnualStatement.objects.count() == 1  # rendered later, by a worker
    # Already being prepared: nothing more is queued.
    with django_capture_on_commit_callbacks(execute=True):
        again = clients[C].post("/api/v1/statements/", {"year": receipt.year}, format="json")
    assert again.status_code == 202 and again.json()["count"] == 0
    assert DBTaskResult.objects.count() == 1
    future = clients[C].post("/api/v1/statements/", {"year": 2999}, format="json")
    assert future.status_code == 400 and future.json()["fields"].keys() == {"year"}


def test_tax_summary_json_has_no_identity_and_the_export_records_reveals(world, finance):
    clients, payment, receipt, _statement = world
    body = clients[F].get(f"/api/v1/tax-summaries/{receipt.year}/").json()
    (row,) = body["rows"]
    assert row["consultant"] == str(payment.consultant.public_id)
    assert row["consultant_name"] == payment.consultant.display_name
    assert (row["manual"], row["stripe"], row["reportable"]) == ("300.00", "0.00", "300.00")
    assert row["reimbursements"] == "23.40" and row["w9_status"] == "received"
    for secret in (LEGAL_NAME, TIN, "Elm Street"):
        assert secret not in str(body)
    assert not VaultReveal.objects.exists()

    url = f"/api/v1/tax-summaries/{receipt.year}/export/"
    missing = clients[F].post(url, {}, format="json")
    assert missing.status_code == 400 and not VaultReveal.objects.exists()
    response = clients[F].post(
        url, {"reason": "1099-NEC filing"}, format="json", HTTP_IDEMPOTENCY_KEY="export-1"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    (line,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert line["Recipient Name"] == LEGAL_NAME and line["Recipient TIN"] == TIN
    assert set(VaultReveal.objects.values_list("field", "revealed_by", "reason")) == {
        ("legal_name", finance.pk, "1099-NEC filing"),
        ("taxpayer_id", finance.pk, "1099-NEC filing"),
        ("mailing_address", finance.pk, "1099-NEC filing"),
    }
    # Identity data is never kept for replays: the same key exports (and records) again.
    from api.models import IdempotencyRecord

    assert not IdempotencyRecord.objects.filter(key="export-1").exists()
    clients[F].post(
        url, {"reason": "1099-NEC filing"}, format="json", HTTP_IDEMPOTENCY_KEY="export-1"
    )
    assert VaultReveal.objects.count() == 6
    assert clients[F].get("/api/v1/tax-summaries/2999/").status_code == 404
