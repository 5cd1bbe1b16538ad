"""A client generated from the committed schema works against the real server.

openapi-python-client (a generator clients really use) turns api/schema.yml into a
Python package, without a warning; that package then logs work with an
Idempotency-Key, replays it, approves it, reads its history and downloads a receipt.
"""

from __future__ import annotations

import importlib
import inspect
import io
import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from accounts.services import api_token_create

BASE = Path(settings.BASE_DIR)
PACKAGE = "honora_api_client"


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory):
    """The client package, generated once per session from api/schema.yml."""
    out = tmp_path_factory.mktemp("generated") / PACKAGE
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(BASE / "api" / "schema.yml"),
            "--config",
            str(BASE / "api" / "openapi-python-client.yml"),
            "--meta",
            "none",
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The generator still writes a client when it drops parts of the schema; it says so.
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    sys.path.insert(0, str(out.parent))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out.parent))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.mark.django_db
def test_the_schema_gives_every_operation_its_parameters_and_answers(generated_client):
    from honora_api_client.api.contributions import contributions_approve_create
    from honora_api_client.api.payments import payments_receipt_retrieve
    from honora_api_client.api.receipts import receipts_pdf_retrieve
    from honora_api_client.api.statements import statements_pdf_retrieve
    from honora_api_client.types import File

    # Idempotency-Key is a parameter of the generated call, not prose.
    assert (
        "idempotency_key"
        in inspect.signature(contributions_approve_create.sync_detailed).parameters
    )
    # The PDFs are kept: each download function parses a 200 into bytes (a File).
    for module in (payments_receipt_retrieve, receipts_pdf_retrieve, statements_pdf_retrieve):
        returns = inspect.signature(module.sync_detailed).return_annotation
        assert File in returns.__args__[0].__args__, (module.__name__, returns)


def _paid_with_receipt(engagement, approved, finance, finance2):
    """Pay the approved entry by check and issue its receipt (the pages' path)."""
    from payments.documents.receipts import receipt_issue
    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual

    consultant = engagement.consultant
    consultant.payout_method = "check"
    consultant.save()
    batch = batch_build(by=finance, cutoff_date=approved.date)
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance)
    paid = payment_record_manual(
        payment=batch.payments.get(),
        by=finance,
        reference="1001",
        handed_over_on=approved.date + timedelta(days=1),
    )
    receipt_issue(payment_id=paid.pk)
    return paid


def test_a_generated_client_logs_replays_approves_reads_history_and_downloads(
    generated_client, live_server, engagement, coordinator, coordinator2, finance, finance2
):
    from honora_api_client import AuthenticatedClient
    from honora_api_client.api.contributions import (
        contributions_approve_create,
        contributions_create,
    )
    from honora_api_client.api.history import history_retrieve
    from honora_api_client.api.payments import payments_receipt_retrieve
    from honora_api_client.models import (
        ActivityEnum,
        ApproveRequest,
        Contribution,
        HistoryRetrieveType,
        HoursContributionCreateKindEnum,
        HoursContributionCreateRequest,
    )

    from engagements.models import Contribution as ContributionRow

    def client_for(user):
        _row, token = api_token_create(user=user, name="generated client", days=1)
        return AuthenticatedClient(base_url=live_server.url, token=token, prefix="Token")

    logger, approver, payer = client_for(coordinator), client_for(coordinator2), client_for(finance)
    work_day = date.today() - timedelta(days=3)
    # One request shape per kind, each with its own rules (quarter hours here).
    body = HoursContributionCreateRequest(
        engagement=engagement.public_id,
        kind=HoursContributionCreateKindEnum.HOURS,
        activity=ActivityEnum.WORK,
        date=work_day,
        quantity="2.5",
        submit=True,
    )
    key = str(uuid.uuid4())

    first = contributions_create.sync_detailed(client=logger, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    assert isinstance(first.parsed, Contribution)
    assert "Idempotent-Replayed" not in first.headers
    replay = contributions_create.sync_detailed(client=logger, body=body, idempotency_key=key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.public_id == first.parsed.public_id
    assert ContributionRow.objects.count() == 1

    approved = contributions_approve_create.sync_detailed(
        client=approver,
        public_id=first.parsed.public_id,
        body=ApproveRequest(),
        idempotency_key=str(uuid.uuid4()),
    )
    assert approved.status_code == 200, approved.content
    assert approved.parsed.status == "approved"
    assert Decimal(approved.parsed.amount) > 0

    history = history_retrieve.sync_detailed(
        client=logger, id=first.parsed.public_id, type_=HistoryRetrieveType.CONTRIBUTION
    )
    assert history.status_code == 200, history.content
    last = history.parsed.entries[-1]
    assert (last.who, last.role, last.action) == ("Dev", "coordinator", "contribution.approved")
    approved_by = next(c for c in last.changes if c.field == "approved_by")
    # A person by name and role, an empty value in words: never a raw user id.
    assert (approved_by.old, approved_by.new) == ("nobody", "Dev (coordinator)")
    assert str(coordinator2.pk) not in {c.old for c in last.changes} | {c.new for c in last.changes}

    paid = _paid_with_receipt(
        engagement, ContributionRow.objects.get(), finance=finance, finance2=finance2
    )
    pdf = payments_receipt_retrieve.sync_detailed(client=payer, public_id=paid.public_id)
    assert pdf.status_code == 200, pdf.content[:500]
    assert pdf.headers["Content-Type"] == "application/pdf"
    data = pdf.parsed.payload.read()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    assert "Receipt" in reader.pages[0].extract_text()
