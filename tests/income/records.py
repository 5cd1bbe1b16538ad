"""A pay plan and an income letter of the owner, for the page tables (made on first use)."""

from __future__ import annotations

from django.utils import timezone

from income.documents import letter_render
from income.models import IncomeLetter, PayPlan
from income.schedule import add_months, month_start
from income.services import income_letter_issue, pay_plan_create


def plan(records) -> PayPlan:
    consultant = records["consultant"]
    existing = PayPlan.objects.filter(consultant=consultant).first()
    if existing is not None:
        return existing
    from tests.factories import UserFactory
    from tests.income.support import work

    entry = work(records["engagement"], approver=UserFactory(roles=["coordinator"]))
    return pay_plan_create(
        consultant=consultant,
        by=consultant.user,
        kind="defer",
        entries=[entry],
        start_month=add_months(timezone.localdate(), 1),
    )


def letter(records) -> IncomeLetter:
    consultant = records["consultant"]
    existing = IncomeLetter.objects.filter(consultant=consultant).first()
    if existing is not None:
        return existing
    this_month = month_start(timezone.localdate())
    issued = income_letter_issue(
        consultant=consultant, by=consultant.user, first_month=this_month, last_month=this_month
    )
    return letter_render(letter_id=issued.pk)  # as the worker would
