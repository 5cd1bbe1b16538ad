"""Time to pay, per payment and by rail: the selector, the distribution, the dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from engagements.models import Contribution
from payments.models import Payment
from promises.selectors import PaymentTime, distribution, payment_times, percentile

pytestmark = pytest.mark.django_db


def test_distribution_buckets_median_and_90th_percentile():
    days = [0, 1, 2, 3, 7, 8, 14, 15, 30, 31, 45]
    rows = [
        PaymentTime(payment_id=i, rail="manual", consultant_id=1, days=d)
        for i, d in enumerate(days)
    ]
    rows.append(PaymentTime(payment_id=99, rail="stripe", consultant_id=2, days=5))
    by_rail = {d.rail: d for d in distribution(rows)}
    manual = by_rail["manual"]
    assert manual.count == 11
    assert [n for _label, n, _pct in manual.buckets] == [3, 2, 2, 2, 2]
    assert manual.median == 8
    assert manual.p90 == 31  # nearest rank: the 10th of 11
    assert [n for _label, n, _pct in by_rail["stripe"].buckets] == [0, 1, 0, 0, 0]
    assert by_rail["stripe"].median == 5


def test_percentile_is_a_value_that_occurred():
    assert percentile([5], 0.9) == 5
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile(list(range(1, 101)), 0.5) == 50


def test_payment_times_measure_approval_to_paid_per_payment(paid_by_check, engagement):
    payment, _receipt = paid_by_check
    study = engagement.phase.study
    ids = list(payment.items.values_list("contribution_id", flat=True))
    assert len(ids) > 1
    Contribution.objects.filter(pk__in=ids).update(approved_at=payment.paid_at - timedelta(days=2))
    # The payment's time counts from its earliest approval.
    Contribution.objects.filter(pk=ids[0]).update(
        approved_at=payment.paid_at - timedelta(days=9, hours=1)
    )
    [row] = payment_times(study=study)
    assert (row.payment_id, row.rail, row.consultant_id, row.days) == (
        payment.pk,
        "manual",
        engagement.consultant_id,
        9,
    )
    assert payment_times(study=study, since=payment.paid_at + timedelta(seconds=1)) == []


def test_the_dashboard_shows_the_distribution_by_rail(
    client, coordinator, paid_by_check, engagement
):
    payment, _receipt = paid_by_check
    assert payment.status == Payment.Status.PAID
    client.force_login(coordinator)
    url = reverse(
        "engagements:study_dashboard", kwargs={"public_id": engagement.phase.study.public_id}
    )
    page = client.get(url).content.decode()
    assert 'id="time-to-pay"' in page
    assert "Manual (check, card or cash): 1 payment" in page
    assert "90th percentile" in page
