"""The demo study's first public transparency report.

The demo's older approved work (up to five months ago) is paid by check in a
batch a month, through the payment services as finance would, then dated as if
approved and handed over back then (the services record "now"), so the report has
real figures over the quarters; more recent work stays approved and unpaid for the finance pages. Then a
coordinator publishes the report. With twelve consultants in five phases many
cells describe fewer than five people and are hidden: that is the report being
honest, and the demo shows it.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from consultants.models import PayoutMethod
from core.errors import DomainError
from engagements.models import Contribution, Study
from income.schedule import add_months, month_start
from payments.models import Payment
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from payments.services.finance import payment_record_manual
from transparency.models import Publication
from transparency.services import preview_hash, publication_publish


def seed_transparency(*, study: Study, coordinator, finance, finance2) -> Publication | None:
    today = timezone.localdate()
    rng = random.Random(17)
    first = add_months(month_start(today), -12)
    # One batch a month for the older work, as a study would pay it, so the report's
    # quarters and time to pay describe a year rather than one afternoon.
    for k in range(8):
        cutoff = add_months(first, k + 1) - timedelta(days=1)
        if cutoff > today - timedelta(days=150):
            break
        try:
            batch = batch_build(
                by=finance,
                cutoff_date=cutoff,
                study=study,
                pay_by=PayoutMethod.CHECK,
                note="Older work, paid by check",
            )
            batch_submit(batch=batch, by=finance)
            batch_approve(batch=batch, by=finance2)
            batch_execute(batch=batch, by=finance)
        except DomainError:
            continue  # nothing approved up to this month: no batch
        for payment in batch.payments.filter(status=Payment.Status.PROCESSING).order_by("id"):
            payment_record_manual(
                payment=payment,
                by=finance,
                reference=f"CHK-{1000 + payment.pk}",
                handed_over_on=today,
            )
        _as_if_paid_then(batch, cutoff=cutoff, rng=rng, target=study.time_to_pay_days)
    return publication_publish(
        study=study,
        period_end=today,
        by=coordinator,
        reason="The study's first public report.",
        previewed=preview_hash(study=study, period_end=today),
    )


def _as_if_paid_then(batch, *, cutoff, rng: random.Random, target: int) -> None:
    """Demo data only: date the batch's approvals and hand-overs in the past they stand
    for (the services record "now"), so time to pay reads days, not zero."""
    zone = timezone.get_current_timezone()
    for payment in batch.payments.filter(status=Payment.Status.PAID).order_by("id"):
        paid_on = cutoff + timedelta(days=rng.randint(2, 12))
        paid_at = datetime.combine(paid_on, time(15), tzinfo=zone)
        Payment.objects.filter(pk=payment.pk).update(paid_at=paid_at, handed_over_on=paid_on)
        for item in payment.items.filter(live=True).select_related("contribution"):
            work = item.contribution
            approved_on = min(work.date + timedelta(days=rng.randint(1, 6)), paid_on)
            Contribution.objects.filter(pk=work.pk).update(
                approved_at=datetime.combine(approved_on, time(11), tzinfo=zone),
                promised_pay_date=approved_on + timedelta(days=target),
            )
