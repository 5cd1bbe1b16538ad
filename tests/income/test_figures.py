"""A consultant's money by month, against the database: paid (income only), approved and
scheduled (a plan's month when they asked for one), reimbursements apart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from income import selectors
from income.schedule import add_months, month_start
from income.services import pay_plan_create
from tests.income.support import work

pytestmark = pytest.mark.django_db


def test_paid_scheduled_and_reimbursements_are_apart(engagement, coordinator, paid_month, settings):
    hours, _refund = paid_month
    consultant = engagement.consultant
    today = timezone.localdate()
    this_month = month_start(today)
    waiting = work(engagement, approver=coordinator, value="3")
    later = work(engagement, approver=coordinator, value="1")
    far = add_months(this_month, 4)
    pay_plan_create(
        consultant=consultant, by=consultant.user, kind="defer", entries=[later], start_month=far
    )
    # An unapproved entry counts nowhere; an approved unpaid reimbursement is not income.
    work(engagement, approver=coordinator, kind="reimbursement", value="9.99")

    income = selectors.income_of(consultant, today=today)
    assert income.paid == {this_month: hours.amount}
    assert income.reimbursements == {this_month: Decimal("23.40")}
    due = month_start(today + timedelta(days=settings.TIME_TO_PAY_TARGET_DAYS))
    assert income.scheduled == {due: waiting.amount, far: later.amount}

    year = selectors.yearly(consultant, income, [today.year])[0]
    assert year.paid == hours.amount and year.reimbursements == Decimal("23.40")
    assert year.scheduled == sum(
        (v for m, v in income.scheduled.items() if m.year == today.year), Decimal("0.00")
    )


def test_room_left_under_the_consultants_monthly_limit(engagement, paid_month):
    hours, _refund = paid_month
    consultant = engagement.consultant
    consultant.benefits_cap_amount = Decimal("1000.00")
    consultant.benefits_cap_period = "monthly"
    consultant.save()
    today = timezone.localdate()
    income = selectors.income_of(consultant, today=today)
    row = selectors.monthly(consultant, income, [month_start(today)])[0]
    assert row.room == Decimal("1000.00") - hours.amount - row.scheduled
    # A yearly figure has no room when the limit is monthly.
    assert selectors.yearly(consultant, income, [today.year])[0].room is None


def test_the_income_page_shows_the_figures_and_says_it_gives_no_advice(
    client, engagement, paid_month
):
    hours, _refund = paid_month
    client.force_login(engagement.consultant.user)
    response = client.get(reverse("portal:income"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Honora gives no advice about public benefits" in body
    assert f"${hours.amount:,.2f}" in body and "$23.40" in body
    assert "usa-table--stacked" in body and "data-money" in body
    # The year selector is bounded to years with data: another year is ignored.
    assert client.get(reverse("portal:income") + "?year=1999").status_code == 200
    assert client.get(reverse("portal:income") + "?year=abc").status_code == 200
    # isdigit() takes these, int() does not (or takes too long): never a 500.
    for odd in ("%C2%B2", "1%C2%B2", "9" * 5000):
        assert client.get(reverse("portal:income") + "?year=" + odd).status_code == 200
