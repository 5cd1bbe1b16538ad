"""The demo study's first public transparency report.

The demo's older approved work (up to five months ago) is paid by check in one
batch, through the payment services as finance would, so the report has real
figures; more recent work stays approved and unpaid for the finance pages. Then a
coordinator publishes the report. With twelve consultants in five phases many
cells describe fewer than five people and are hidden: that is the report being
honest, and the demo shows it.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from consultants.models import PayoutMethod
from core.errors import DomainError
from engagements.models import Study
from payments.models import Payment
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from payments.services.finance import payment_record_manual
from transparency.models import Publication
from transparency.services import preview_hash, publication_publish


def seed_transparency(*, study: Study, coordinator, finance, finance2) -> Publication | None:
    today = timezone.localdate()
    try:
        batch = batch_build(
            by=finance,
            cutoff_date=today - timedelta(days=150),
            study=study,
            pay_by=PayoutMethod.CHECK,
            note="Older work, paid by check",
        )
        batch_submit(batch=batch, by=finance)
        batch_approve(batch=batch, by=finance2)
        batch_execute(batch=batch, by=finance)
        for payment in batch.payments.filter(status=Payment.Status.PROCESSING).order_by("id"):
            payment_record_manual(
                payment=payment,
                by=finance,
                reference=f"CHK-{1000 + payment.pk}",
                handed_over_on=today,
            )
    except DomainError:
        pass  # nothing old enough to pay: the report is published all the same
    return publication_publish(
        study=study,
        period_end=today,
        by=coordinator,
        reason="The study's first public report.",
        previewed=preview_hash(study=study, period_end=today),
    )
