from __future__ import annotations

import pytest
from django.utils import timezone

from tests.income.support import ready_to_pay, work
from tests.payments.factories_payouts import paid_manual_payment


@pytest.fixture
def paid_month(engagement, coordinator, finance, finance2):
    """The owner paid this month by check: 2 h of work and a $23.40 reimbursement.
    Answers (work entry, reimbursement entry)."""
    ready_to_pay(engagement.consultant)
    hours = work(engagement, approver=coordinator, value="2")
    refund = work(engagement, approver=coordinator, kind="reimbursement", value="23.40")
    today = timezone.localdate()
    paid_manual_payment(finance=finance, finance2=finance2, handed_over_on=today, cutoff=today)
    return hours, refund
