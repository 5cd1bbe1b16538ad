"""The promised pay date over the API: read-only, and only where the entry is visible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.payments.payout_support import approved

pytestmark = pytest.mark.django_db


def detail(c):
    return f"/api/v1/contributions/{c.public_id}/"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", (401, 403)),
        ("consultant", (200,)),
        ("outsider", (404,)),
        ("coordinator", (200,)),
        ("finance", (200,)),
        ("admin", (200,)),
    ],
)
def test_promised_pay_date_by_role(api, engagement, coordinator2, role, status):
    study = engagement.phase.study
    study.time_to_pay_days = 10
    study.save()
    entry = approved(engagement, approver=coordinator2)
    response = api[role].get(detail(entry))
    assert response.status_code in status
    if response.status_code == 200:
        promised = timezone.localdate() + timedelta(days=10)
        assert response.json()["promised_pay_date"] == promised.isoformat()


def test_promised_pay_date_cannot_be_written(api, engagement, coordinator2):
    entry = approved(engagement, approver=coordinator2)
    before = entry.promised_pay_date
    response = api["coordinator"].patch(
        detail(entry), {"promised_pay_date": "2030-01-01"}, format="json"
    )
    entry.refresh_from_db()
    assert entry.promised_pay_date == before
    assert response.status_code in (200, 400, 405, 409)
