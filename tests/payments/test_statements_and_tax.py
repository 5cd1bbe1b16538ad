"""Annual statements and the year's tax summary, checked against the database."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest

from consultants.models import TaxForm, VaultReveal
from consultants.services import vault_update
from core.errors import NotAllowed, ValidationFailed
from payments.documents.receipts import receipt_issue
from payments.documents.rendering import stored_pdf
from payments.documents.statements import (
    statement_data,
    statement_generate,
    tax_summary,
    tax_summary_csv,
)
from tests.payments.factories_payouts import STANDARD_ENTRIES, approved_work, paid_manual_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(engagement, coordinator, coordinator2, finance, finance2):
    consultant = engagement.consultant
    consultant.payout_method = "check"
    consultant.save()
    TaxForm.objects.filter(consultant=consultant).update(
        status="received", received_on=date(2026, 1, 5)
    )
    vault_update(
        consultant=consultant,
        by=finance,
        reason="",
        legal_name="Rivera Example",
        taxpayer_id="900-70-1234",
        mailing_address="12 Elm Street\nApt 3\nSpringfield, IL 62701",
    )
    approved_work(engagement, logger=coordinator, approver=coordinator2, entries=STANDARD_ENTRIES)
    payment = paid_manual_payment(finance=finance, finance2=finance2)
    receipt_issue(payment_id=payment.pk)
    return payment


def text_of(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_statement_totals_by_month_and_phase_with_receipt_numbers(paid, settings):
    settings.TAX_FORM_THRESHOLDS = {2025: Decimal("600.00"), 2026: Decimal("2000.00")}
    year = paid.paid_at.year
    data = statement_data(paid.consultant, year)
    assert data.pay_total == Decimal("300.00")
    assert data.reimbursement_total == Decimal("23.40")
    assert data.threshold == Decimal("2000.00") and data.threshold_reached is False
    phase = paid.items.first().contribution.engagement.phase.name
    assert data.by_phase == [(phase, "$300.00", "$23.40")]
    statement = statement_generate(consultant=paid.consultant, year=year, by=paid.consultant.user)
    text = text_of(stored_pdf(statement))
    assert f"Annual statement {year}" in text
    assert "$300.00" in text and "$23.40" in text and "$2,000.00" in text
    assert paid.receipts.get().number in text
    assert "Threshold reached No" in text
    again = statement_generate(consultant=paid.consultant, year=year, by=paid.consultant.user)
    assert again.version == statement.version + 1


def test_statements_are_the_consultants_own(paid, outsider_user):
    with pytest.raises(NotAllowed):
        statement_generate(consultant=paid.consultant, year=paid.paid_at.year, by=outsider_user)
    with pytest.raises(ValidationFailed):
        statement_generate(consultant=paid.consultant, year=2999, by=paid.consultant.user)


def test_tax_summary_excludes_reimbursements_and_splits_rails(paid):
    summary = tax_summary(paid.paid_at.year)
    (row,) = summary.rows
    assert row.manual == Decimal("300.00") and row.stripe == Decimal("0.00")
    assert row.reimbursements == Decimal("23.40")
    assert row.w9_status == "received"


def test_tax_export_reveals_identity_only_to_finance_and_records_it(
    paid, finance, coordinator, settings
):
    # "Threshold reached" follows the legal table, whatever the W-9 policy.
    settings.TAX_FORM_ORG_THRESHOLD = Decimal("5000")
    settings.TAX_FORM_THRESHOLDS = {2020: Decimal("100.00")}
    year = paid.paid_at.year
    with pytest.raises(NotAllowed):
        tax_summary_csv(year=year, by=coordinator, reason="filing")
    with pytest.raises(ValidationFailed):
        tax_summary_csv(year=year, by=finance, reason="")
    assert not VaultReveal.objects.exists()
    text = tax_summary_csv(year=year, by=finance, reason="1099-NEC filing")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["Recipient Name"] == "Rivera Example"
    assert row["Recipient TIN"] == "900-70-1234" and row["TIN Type"] == "SSN"
    assert (row["Address Line 1"], row["Address Line 2"]) == ("12 Elm Street", "Apt 3")
    assert (row["City"], row["State"], row["ZIP"]) == ("Springfield", "IL", "62701")
    assert row["Box 1 Nonemployee Compensation"] == "300.00"
    assert row["Threshold Reached"] == "yes" and row["W-9 On File"] == "yes"
    reveals = VaultReveal.objects.filter(consultant=paid.consultant)
    assert sorted(reveals.values_list("field", flat=True)) == [
        "legal_name",
        "mailing_address",
        "taxpayer_id",
    ]
    assert set(reveals.values_list("revealed_by", flat=True)) == {finance.pk}
    assert set(reveals.values_list("reason", flat=True)) == {"1099-NEC filing"}


def test_asking_for_a_statement_enqueues_one_task_until_it_is_stored(
    paid, coordinator, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from payments.documents.statements import statement_pending, statement_request

    consultant, year = paid.consultant, paid.paid_at.year
    with pytest.raises(NotAllowed):
        statement_request(consultant=consultant, year=year, by=coordinator)
    with pytest.raises(ValidationFailed):
        statement_request(consultant=consultant, year=1999, by=consultant.user)
    assert not DBTaskResult.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert statement_request(consultant=consultant, year=year, by=consultant.user) is True
        assert statement_request(consultant=consultant, year=year, by=consultant.user) is False
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["args"] == [consultant.pk, year, consultant.user.pk]
    assert statement_pending(consultant, year)
    statement_generate(consultant=consultant, year=year, by=consultant.user)
    assert not statement_pending(consultant, year)
    # Stored: a new request is a new version, and a new task.
    with django_capture_on_commit_callbacks(execute=True):
        assert statement_request(consultant=consultant, year=year, by=consultant.user) is True
    assert DBTaskResult.objects.count() == 2


def test_finance_prepares_everyone_paid_in_the_year_in_workers(
    paid, finance, coordinator, outsider, settings, django_capture_on_commit_callbacks
):
    from payments.documents.models import AnnualStatement
    from payments.documents.statements import statement_progress, statements_request_year

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    year = paid.paid_at.year
    with pytest.raises(NotAllowed):
        statements_request_year(year=year, by=coordinator)
    before = statement_progress(year)
    assert (before.paid, before.with_statement, before.requested) == (1, 0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        queued = statements_request_year(year=year, by=finance)
    # The outsider was not paid in the year: no statement for them.
    assert queued == [paid.consultant]
    (statement,) = AnnualStatement.objects.all()
    assert statement.consultant == paid.consultant and statement.generated_by == finance
    after = statement_progress(year)
    assert (after.paid, after.with_statement, after.requested, after.generated_since) == (
        1,
        1,
        1,
        1,
    )
    assert after.waiting == 0
