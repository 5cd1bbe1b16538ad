"""Builders for the payout page and API tests: approved work, batches at each stage.

Everything goes through the services, so the records are what real use makes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consultants.models import PayoutMethod
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from tests.factories import ConsultantFactory, EngagementFactory, UserFactory

WORK_DAY = date(2026, 3, 12)
CUTOFF = date(2026, 3, 31)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf_upload(name="scan.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def approved(engagement, *, approver, kind="hours", quantity="2", activity="work", day=WORK_DAY):
    """Work logged by the consultant themselves (arrives submitted), approved by staff."""
    values = {"quantity": Decimal(quantity)} if kind != "reimbursement" else {}
    if kind == "reimbursement":
        values["claimed_amount"] = Decimal(quantity)
    logger = engagement.consultant.user
    c = contribution_create(
        engagement=engagement,
        by=logger,
        kind=kind,
        activity=activity,
        date=day,
        submit=True,
        **values,
    )
    return contribution_approve(contribution=c, by=approver)


def consultant_with_work(
    *, approver, method=PayoutMethod.CHECK, name=None, phase=None, rate_card=None, items=1
):
    user = UserFactory(roles=["consultant"])
    kwargs = {"user": user, "payout_method": method}
    if name:
        kwargs["display_name"] = name
    consultant = ConsultantFactory(**kwargs)
    extra = {}
    if phase is not None:
        extra = {"phase": phase, "rate_card": rate_card}
    engagement = EngagementFactory(consultant=consultant, **extra)
    for _n in range(items):
        approved(engagement, approver=approver)
    return consultant


def build(*, by, **filters):
    return batch_build(by=by, cutoff_date=filters.pop("cutoff_date", CUTOFF), **filters)


def approved_batch(*, builder, approver, **filters):
    batch = build(by=builder, **filters)
    batch_submit(batch=batch, by=builder)
    return batch_approve(batch=batch, by=approver)


def executed_batch(*, builder, approver, **filters):
    batch = approved_batch(builder=builder, approver=approver, **filters)
    return batch_execute(batch=batch, by=builder)


def count_queries(client, url) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response
