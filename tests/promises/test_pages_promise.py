"""Where people see the promise: the consultant's entry, list and home; the staff entry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from engagements.models import Contribution
from engagements.selectors import next_promised_payment
from tests.payments.payout_support import approved

pytestmark = pytest.mark.django_db


def day_month(d):
    return date_format(d, "MONTH_DAY_FORMAT")


@pytest.fixture
def promised(engagement, coordinator):
    study = engagement.phase.study
    study.time_to_pay_days = 10
    study.save()
    first = approved(engagement, approver=coordinator, quantity="2")  # $120.00
    second = approved(engagement, approver=coordinator, quantity="1")  # $60.00
    later = approved(engagement, approver=coordinator, quantity="3")
    Contribution.objects.filter(pk=later.pk).update(
        promised_pay_date=timezone.localdate() + timedelta(days=20)
    )
    return first, second, later


def test_next_payment_sums_the_soonest_promise(promised, consultant):
    first, second, _later = promised
    nxt = next_promised_payment(consultant)
    assert nxt.on == first.promised_pay_date == second.promised_pay_date
    assert nxt.amount == first.amount + second.amount == Decimal("180.00")


def test_home_says_next_payment_about_how_much_by_when(client, promised, consultant):
    first, _second, _later = promised
    client.force_login(consultant.user)
    page = client.get(reverse("portal:home")).content.decode()
    assert (
        "Next payment: about <span data-money>$180.00</span> by "
        + day_month(first.promised_pay_date)
        in page
    )


def test_entry_page_says_paid_by_and_late_when_past(client, promised, consultant):
    first, _second, _later = promised
    client.force_login(consultant.user)
    url = reverse("portal:contribution", kwargs={"public_id": first.public_id})
    page = client.get(url).content.decode()
    assert "Paid by " + day_month(first.promised_pay_date) in page
    past = timezone.localdate() - timedelta(days=1)
    Contribution.objects.filter(pk=first.pk).update(promised_pay_date=past)
    page = client.get(url).content.decode()
    assert "Promised by " + day_month(past) + ": late" in page


def test_staff_entry_page_shows_the_promise(client, promised, coordinator2):
    first, _second, _later = promised
    client.force_login(coordinator2)
    url = reverse("engagements:contribution_detail", kwargs={"public_id": first.public_id})
    page = client.get(url).content.decode()
    assert "Promised pay date" in page
    assert "Paid by " + day_month(first.promised_pay_date) in page


def test_no_next_payment_when_nothing_is_owed(client, consultant):
    client.force_login(consultant.user)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Next payment" not in page


def test_home_says_when_the_next_payment_is_late(client, promised, consultant):
    first, second, _later = promised
    past = timezone.localdate() - timedelta(days=2)
    Contribution.objects.filter(pk__in=[first.pk, second.pk]).update(promised_pay_date=past)
    client.force_login(consultant.user)
    page = client.get(reverse("portal:home")).content.decode()
    assert (
        "Next payment: about <span data-money>$180.00</span>, promised by "
        + day_month(past)
        + ": late."
    ) in page
