"""Background work for documents: receipts and statements render outside requests."""

from __future__ import annotations

from django_tasks import task

from accounts.models import User
from consultants.models import Consultant
from payments.documents.receipts import receipt_issue, receipt_render
from payments.documents.statements import statement_generate


@task()
def issue_receipt(payment_id: int) -> None:
    receipt_issue(payment_id=payment_id)


@task()
def render_receipt(receipt_id: int) -> None:
    receipt_render(receipt_id=receipt_id)


@task()
def generate_statement(consultant_id: int, year: int, user_id: int | None = None) -> None:
    by = User.objects.filter(pk=user_id).first() if user_id else None
    statement_generate(consultant=Consultant.objects.get(pk=consultant_id), year=year, by=by)
