"""The portal home: earned, pending, paid and owed per period and per phase, from the database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from engagements.models import Contribution
from tests.factories import EngagementFactory
from tests.portal.conftest import row, tables, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(engagement, make_entry):
    """A worked example at the factory rates ($60 an hour, $150 an honorarium)."""
    today = timezone.localdate()
    last_month = today.replace(day=1) - timedelta(days=1)
    last_year = date(today.year - 1, 6, 15)
    other_phase = EngagementFactory(
        consultant=engagement.consultant,
        phase__study=engagement.phase.study,
        phase__name="Dissemination",
        rate_card=engagement.rate_card,
    )
    return {
        "approved": make_entry(engagement, status="approved", quantity="2", on=today),
        "honorarium": make_entry(
            engagement, status="approved", quantity="1", kind="honorarium", on=today
        ),
        "paid": make_entry(engagement, status="paid", quantity="3", on=last_month),
        "pending": make_entry(engagement, status="submitted_by_consultant", quantity="1.5"),
        "old": make_entry(other_phase, status="approved", quantity="1", on=last_year),
        "rejected": make_entry(engagement, status="rejected", quantity="5"),
        "draft": make_entry(engagement, status="draft", quantity="7"),
        "today": today,
        "last_month": last_month,
        "phase": engagement.phase,
        "other_phase": other_phase.phase,
    }


def _db_totals(consultant, **date_filter):
    """The same numbers straight from the table: approved and paid amounts are frozen."""
    rows = Contribution.objects.filter(engagement__consultant=consultant, **date_filter)

    def total(*statuses):
        return rows.filter(status__in=statuses).aggregate(s=Sum("amount"))["s"] or Decimal("0")

    return {
        "earned": total("approved", "paid"),
        "paid": total("paid"),
        "owed": total("approved"),
        "hours": rows.filter(status__in=("approved", "paid"), kind="hours").aggregate(
            s=Sum("quantity")
        )["s"]
        or Decimal("0"),
    }


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


def test_it_shows_the_worked_example(consultant_client, consultant, work):
    response = consultant_client.get(reverse("portal:home"))
    assert response.status_code == 200
    totals = tables(response)["Your totals for this month, this year and all time"]
    same_year = work["last_month"].year == work["today"].year
    # columns: period, hours, earned, pending, paid, owed
    assert row(totals, "This month")[1:] == ["2", "$270.00", "$90.00", "$0.00", "$270.00"]
    if same_year:
        assert row(totals, "This year")[1:] == ["5", "$450.00", "$90.00", "$180.00", "$270.00"]
    assert row(totals, "All time")[1:] == ["6", "$510.00", "$90.00", "$180.00", "$330.00"]
    # the four cards for this month
    page = text(response)
    assert "Earned (approved) $270.00" in page
    assert "Waiting for approval $90.00" in page
    assert "Owed to you $270.00" in page


def test_totals_match_the_database(consultant_client, consultant, work):
    today = work["today"]
    periods = {
        "This month": _db_totals(consultant, date__year=today.year, date__month=today.month),
        "This year": _db_totals(consultant, date__year=today.year),
        "All time": _db_totals(consultant),
    }
    response = consultant_client.get(reverse("portal:home"))
    totals = tables(response)["Your totals for this month, this year and all time"]
    for label, expected in periods.items():
        cells = row(totals, label)
        assert cells[1] == f"{expected['hours'].normalize():f}", label
        assert cells[2] == money(expected["earned"]), label
        assert cells[4] == money(expected["paid"]), label
        assert cells[5] == money(expected["owed"]), label


def test_totals_by_phase(consultant_client, work):
    response = consultant_client.get(reverse("portal:home"))
    by_phase = tables(response)["Your totals by phase, all time"]
    assert row(by_phase, work["phase"].name)[1:] == [
        "5",
        "$450.00",
        "$90.00",
        "$180.00",
        "$270.00",
    ]
    assert row(by_phase, "Dissemination")[1:] == ["1", "$60.00", "$0.00", "$0.00", "$60.00"]


def test_the_month_chart_has_a_table_of_hours_and_earnings(consultant_client, work):
    response = consultant_client.get(reverse("portal:home"))
    chart = tables(response)["Approved hours and earnings by month"]
    this_month = work["today"].strftime("%B %Y")
    assert row(chart, this_month)[1] == "2"
    assert row(chart, this_month)[3] == "$270.00"
    assert len(chart) == 1 + 12  # header and twelve months
    # the busiest month draws the longest bar
    assert '<rect width="100" height="10"/>' in response.content.decode()


def test_an_empty_home_is_calm(consultant_client):
    response = consultant_client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert "Nothing yet" in text(response)


def test_the_benefits_limit_is_shown_without_advice(consultant_client, consultant, work):
    consultant.benefits_cap_amount = Decimal("300.00")
    consultant.benefits_cap_period = "monthly"
    consultant.save()
    page = text(consultant_client.get(reverse("portal:home")))
    assert "You set a limit of $300.00 per month." in page
    assert "$270.00 approved and $90.00 waiting for approval, $360.00 together" in page
    assert "That is $60.00 above your limit." in page
    assert "advice" not in page.lower() or "does not give benefits advice" in page.lower()


def test_a_yearly_limit_shows_how_much_remains(
    consultant_client, consultant, engagement, make_entry
):
    make_entry(engagement, status="approved", quantity="10")
    consultant.benefits_cap_amount = Decimal("6000.00")
    consultant.benefits_cap_period = "yearly"
    consultant.save()
    page = text(consultant_client.get(reverse("portal:home")))
    assert "You set a limit of $6,000.00 per year." in page
    assert "That is 10% of your limit; $5,400.00 remains below it." in page


def test_no_limit_no_section(consultant_client, work):
    assert "Your own limit" not in text(consultant_client.get(reverse("portal:home")))


def test_another_consultants_work_is_not_counted(
    consultant_client, outsider_engagement, make_entry
):
    make_entry(outsider_engagement, status="approved", quantity="4")
    totals = tables(consultant_client.get(reverse("portal:home")))[
        "Your totals for this month, this year and all time"
    ]
    assert row(totals, "All time")[1:] == ["0", "$0.00", "$0.00", "$0.00", "$0.00"]
