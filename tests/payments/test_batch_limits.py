"""Issue 11: a payment and a batch pay at most what core.limits allows.

A payment over the per-payment limit, or one that would take the batch past the
batch limit, is held with its reason when the batch is built; nothing crashes.
With the per-entry bounds the totals on the batch page, the API and /api/v1/me/
stay far inside a money column on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from core import limits
from core.errors import ValidationFailed
from engagements.models import Contribution
from payments.models import Payment
from tests.api.conftest import client_for
from tests.factories import EngagementFactory
from tests.payments.payout_support import WORK_DAY, approved, build, consultant_with_work

pytestmark = pytest.mark.django_db
PS = Payment.Status


def reimbursed_at_the_limit(engagement, *, approver, count):
    for day in range(count):
        approved(
            engagement,
            approver=approver,
            kind="reimbursement",
            activity="travel",
            quantity=str(limits.amount_per_entry()),
            day=WORK_DAY - timedelta(days=day),
        )


def test_a_payment_over_the_payment_limit_is_held_with_its_reason(
    client, engagement, consultant, coordinator, finance
):
    # Six reimbursements at the per-entry maximum: 60,000 > 50,000 a payment.
    reimbursed_at_the_limit(engagement, approver=coordinator, count=6)
    batch = build(by=finance)
    payment = batch.payments.get()
    assert payment.amount == Decimal("60000.00")
    assert payment.status == PS.HELD
    assert payment.hold_reason == Payment.Hold.OVER_LIMIT
    assert "$50,000.00" in payment.hold_detail
    # Every page and endpoint that adds these up answers.
    client.force_login(finance)
    page = client.get(reverse("payments:batch", kwargs={"public_id": batch.public_id}))
    assert page.status_code == 200
    assert "60,000.00" in page.content.decode()
    for url in ("/api/v1/payout-batches/", "/api/v1/payments/"):
        assert client_for(finance).get(url).status_code == 200, url
    assert client_for(consultant.user).get("/api/v1/me/").status_code == 200


def test_payments_past_the_batch_limit_are_held_and_the_rest_go(coordinator, finance, settings):
    settings.LIMIT_AMOUNT_PER_BATCH = Decimal("250")
    first = consultant_with_work(approver=coordinator, name="Ash")  # 2 h at 60 = 120
    second = consultant_with_work(approver=coordinator, name="Birch")
    third = consultant_with_work(approver=coordinator, name="Cedar")
    batch = build(by=finance)
    payments = {p.consultant_id: p for p in batch.payments.all()}
    statuses = sorted(p.status for p in payments.values())
    assert statuses == [PS.HELD, PS.PENDING, PS.PENDING]
    held = next(p for p in payments.values() if p.status == PS.HELD)
    assert held.hold_reason == Payment.Hold.OVER_LIMIT
    assert "$250.00" in held.hold_detail
    assert {first.pk, second.pk, third.pk} == set(payments)


def test_work_too_large_for_a_payment_is_refused_not_a_crash(engagement, coordinator, finance):
    # Only rows approved before the bounds existed can add up to this: made directly.
    other = EngagementFactory(consultant=engagement.consultant)
    for e in (engagement, other):
        approved(e, approver=coordinator, kind="reimbursement", quantity="100", activity="travel")
    Contribution.objects.update(amount=Decimal("6000000000.00"))
    with pytest.raises(ValidationFailed) as refused:
        build(by=finance)
    assert refused.value.code == "too_large"
    assert not Payment.objects.exists()
