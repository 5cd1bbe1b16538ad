"""Issue 11: bounds on every number, from one place (core.limits), and never a 500.

Each test here reproduces one report of the issue and failed before the bounds:
an unbounded reimbursement, a day of 144 hours, approval past a budget, work
dated in year 1, 1e999999999 crashing the parsers, digits other than 0-9 read
as numbers, and the CSV importer splitting a cell with doubled quotes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import limits
from core.errors import ValidationFailed
from core.money import COLUMN_LIMIT, sum_money
from core.numbers import has_other_digits, size_at_least
from engagements import actions
from engagements.imports import run_import
from engagements.models import Contribution
from engagements.services.checks import checked_decimal
from engagements.services.reviews import contribution_approve
from engagements.weekgrid import week_label
from tests.api.conftest import client_for
from tests.engagements.pages_support import log, text
from tests.factories import EngagementFactory, PhaseFactory

pytestmark = pytest.mark.django_db

WORK_DAY = date(2026, 3, 12)


def api_body(engagement, **overrides):
    body = {
        "engagement": str(engagement.public_id),
        "kind": "hours",
        "activity": "work",
        "date": WORK_DAY.isoformat(),
        "quantity": "2",
    }
    body.update(overrides)
    return body


def second_engagement(engagement):
    return EngagementFactory(
        consultant=engagement.consultant, phase=PhaseFactory(study=engagement.phase.study)
    )


# --- 1. an unbounded reimbursement ------------------------------------------------------


def test_a_reimbursement_of_9999999999_99_is_a_400_naming_the_field(engagement, coordinator):
    api = client_for(coordinator)
    response = api.post(
        "/api/v1/contributions/",
        api_body(engagement, kind="reimbursement", quantity=None, claimed_amount="9999999999.99"),
        format="json",
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["claimed_amount"]
    assert "$10,000.00" in response.json()["message"]
    assert not Contribution.objects.exists()


def test_the_largest_reimbursement_allowed_is_accepted_and_totals_stay_fine(
    engagement, consultant, coordinator, coordinator2
):
    for day in range(6):
        c = log(
            engagement,
            coordinator,
            kind="reimbursement",
            activity="travel",
            quantity=None,
            claimed_amount=limits.amount_per_entry(),
            date=WORK_DAY + timedelta(days=day),
        )
        contribution_approve(contribution=c, by=coordinator2)
    me = client_for(consultant.user).get("/api/v1/me/")
    assert me.status_code == 200, me.content


def test_the_per_entry_limit_comes_from_settings(engagement, coordinator, settings):
    settings.LIMIT_AMOUNT_PER_ENTRY = Decimal("50")
    with pytest.raises(ValidationFailed) as refused:
        log(engagement, coordinator, kind="reimbursement", quantity=None, claimed_amount="50.01")
    assert refused.value.field == "claimed_amount"
    assert log(engagement, coordinator, kind="reimbursement", quantity=None, claimed_amount="50")


def test_an_honorarium_over_the_per_entry_amount_is_refused_at_approval(
    engagement, coordinator, coordinator2, settings
):
    c = log(engagement, coordinator, kind="honorarium", activity="meeting", quantity="3")
    settings.LIMIT_AMOUNT_PER_ENTRY = Decimal("300")  # 3 x 150 = 450
    with pytest.raises(ValidationFailed) as refused:
        contribution_approve(contribution=c, by=coordinator2)
    assert refused.value.field == "quantity"
    c.refresh_from_db()
    assert c.status == Contribution.Status.SUBMITTED


def test_no_sum_of_accepted_values_reaches_a_money_column_limit():
    # A batch is capped well inside what a 12-digit column holds.
    assert limits.amount_per_batch() < COLUMN_LIMIT
    assert limits.amount_per_payment() <= limits.amount_per_batch()
    assert limits.amount_per_entry() <= limits.amount_per_payment()
    assert sum_money([Decimal("9999999999.99")] * 3 + [None]) == Decimal("29999999999.97")
    assert sum_money([Decimal("1e999999"), Decimal("1e999999")]) > 0  # never raises


# --- 2. hours per entry and per day, across engagements ---------------------------------


def test_one_entry_holds_at_most_24_hours(engagement, coordinator):
    api = client_for(coordinator)
    response = api.post(
        "/api/v1/contributions/", api_body(engagement, quantity="25"), format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["quantity"]
    assert not Contribution.objects.exists()


def test_a_day_holds_at_most_24_hours_across_all_engagements(engagement, consultant):
    # The issue: a consultant's token posted 25 h, 24 h and 9.75 h for one date.
    other = second_engagement(engagement)
    api = client_for(consultant.user)
    first = api.post("/api/v1/contributions/", api_body(engagement, quantity="20"), format="json")
    assert first.status_code == 201, first.content
    over = api.post("/api/v1/contributions/", api_body(other, quantity="4.25"), format="json")
    # A conflict with the entries already there (the same body fits on another day).
    assert over.status_code == 409, over.content
    assert list(over.json()["fields"]) == ["quantity"]
    assert "24" in over.json()["message"]
    fits = api.post("/api/v1/contributions/", api_body(other, quantity="4"), format="json")
    assert fits.status_code == 201, fits.content
    assert Contribution.objects.filter(date=WORK_DAY).count() == 2


def test_a_returned_entry_does_not_count_towards_the_day(engagement, coordinator, coordinator2):
    from engagements.services.reviews import contribution_reject

    c = log(engagement, coordinator, quantity="20")
    contribution_reject(contribution=c, by=coordinator2, reason="Wrong day")
    assert log(second_engagement(engagement), coordinator, quantity="20")


def test_editing_an_entry_counts_the_day_without_itself(engagement, coordinator):
    from engagements.services.contributions import contribution_update

    c = log(engagement, coordinator, quantity="20", submit=False)
    assert (
        contribution_update(contribution=c, by=coordinator, quantity=Decimal("24")).quantity == 24
    )


def test_approval_refuses_a_day_over_the_limit(engagement, coordinator, coordinator2, settings):
    # Logged while the limit was higher; approval counts what is already approved.
    settings.LIMIT_HOURS_PER_DAY = Decimal("48")
    a = log(engagement, coordinator, quantity="20")
    b = log(second_engagement(engagement), coordinator, quantity="20")
    settings.LIMIT_HOURS_PER_DAY = Decimal("24")
    contribution_approve(contribution=a, by=coordinator2)
    with pytest.raises(ValidationFailed) as refused:
        contribution_approve(contribution=b, by=coordinator2)
    assert refused.value.field == "quantity"
    b.refresh_from_db()
    assert b.status == Contribution.Status.SUBMITTED


def test_the_week_grid_counts_the_day_across_engagements(client, coordinator, engagement):
    other = second_engagement(engagement)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 7)
    url = (
        reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
        + f"?week={week_label(monday)}"
    )
    client.force_login(coordinator)
    response = client.post(
        url,
        {
            f"h-{engagement.public_id.hex}-work-0": "20",
            f"h-{other.public_id.hex}-work-0": "20",
            "then": "submit",
        },
    )
    assert response.status_code == 400
    assert "a day holds at most 24 hours" in text(response)
    assert not Contribution.objects.exists()


# --- budgets and hours caps at approval -------------------------------------------------


def test_approval_past_the_budget_needs_a_reason_kept_in_the_history(
    engagement, coordinator, coordinator2
):
    engagement.budget = Decimal("100.00")
    engagement.save()
    c = log(engagement, coordinator, quantity="2")  # 2 h at 60 = 120
    with pytest.raises(ValidationFailed) as refused:
        contribution_approve(contribution=c, by=coordinator2)
    assert refused.value.field == "override_reason"
    assert refused.value.code == "over_budget"
    assert "budget of $100.00" in refused.value.message
    c.refresh_from_db()
    assert c.status == Contribution.Status.SUBMITTED

    done = contribution_approve(
        contribution=c, by=coordinator2, override_reason="Board agreed the extra session"
    )
    assert done.status == Contribution.Status.APPROVED
    last = done.history.first()
    assert last.history_action == actions.CONTRIBUTION_APPROVED_OVER_LIMIT
    assert "Board agreed the extra session" in last.history_change_reason


def test_approval_within_the_budget_needs_no_reason(engagement, coordinator, coordinator2):
    engagement.budget = Decimal("120.00")
    engagement.save()
    c = log(engagement, coordinator, quantity="2")
    done = contribution_approve(contribution=c, by=coordinator2)
    assert done.history.first().history_action == actions.CONTRIBUTION_APPROVED


def test_approval_past_a_lowered_hours_cap_needs_a_reason(engagement, coordinator, coordinator2):
    engagement.hours_cap = Decimal("10")
    engagement.save()
    first = log(engagement, coordinator, quantity="4")
    second = log(engagement, coordinator, quantity="4", date=WORK_DAY - timedelta(days=1))
    contribution_approve(contribution=first, by=coordinator2)
    engagement.hours_cap = Decimal("6")
    engagement.save()
    with pytest.raises(ValidationFailed) as refused:
        contribution_approve(contribution=second, by=coordinator2)
    assert refused.value.field == "override_reason"
    assert "cap of 6" in refused.value.message


def test_the_api_approve_takes_an_override_reason(engagement, coordinator, coordinator2):
    engagement.budget = Decimal("100.00")
    engagement.save()
    c = log(engagement, coordinator, quantity="2")
    api = client_for(coordinator2)
    url = f"/api/v1/contributions/{c.public_id}/approve/"
    refused = api.post(url, {}, format="json")
    assert refused.status_code == 400, refused.content
    assert list(refused.json()["fields"]) == ["override_reason"]
    done = api.post(url, {"override_reason": "Agreed with finance"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "approved"


def test_the_approve_page_takes_an_override_reason(client, engagement, coordinator, coordinator2):
    engagement.budget = Decimal("100.00")
    engagement.save()
    c = log(engagement, coordinator, quantity="2")
    client.force_login(coordinator2)
    url = reverse("engagements:contribution_approve", kwargs={"public_id": c.public_id})
    refused = client.post(url, {"seen_version": c.version})
    assert refused.status_code == 400
    assert "above its budget" in text(refused)
    assert 'name="override_reason"' in text(refused)
    done = client.post(url, {"seen_version": c.version, "override_reason": "Agreed"})
    assert done.status_code == 302
    c.refresh_from_db()
    assert c.status == Contribution.Status.APPROVED


# --- work dates -------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["0001-01-01", "1900-01-01", "1999-12-31"])
def test_work_dates_before_the_window_are_a_400_naming_the_field(engagement, coordinator, when):
    response = client_for(coordinator).post(
        "/api/v1/contributions/", api_body(engagement, date=when), format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["date"]
    assert "2000-01-01" in response.json()["message"]
    assert not Contribution.objects.exists()


def test_the_earliest_work_date_comes_from_settings(engagement, coordinator, settings):
    settings.LIMIT_EARLIEST_WORK_DATE = "2026-03-13"
    with pytest.raises(ValidationFailed) as refused:
        log(engagement, coordinator)
    assert refused.value.field == "date"


# --- numbers parsed inside their error handling -----------------------------------------


def test_the_size_check_never_rounds():
    assert size_at_least(Decimal("1e999999999"), Decimal("1e15"))
    assert size_at_least(Decimal("-1e999999999"), Decimal("1e15"))
    assert not size_at_least(Decimal("-2"), Decimal("24"))
    with pytest.raises(ValidationFailed) as refused:
        checked_decimal("1e999999999", "quantity")
    assert refused.value.field == "quantity"


def test_1e999999999_hours_on_me_log_is_a_form_error(client, consultant, engagement):
    client.force_login(consultant.user)
    response = client.post(
        "/me/log/",
        {
            "engagement": str(engagement.public_id),
            "date": WORK_DAY.isoformat(),
            "activity": "work",
            "quantity": "1e999999999",
        },
    )
    assert response.status_code == 400
    assert 'id="id_quantity_error"' in response.content.decode()
    assert not Contribution.objects.exists()


def test_1e999999999_in_the_api_is_a_400(engagement, coordinator):
    response = client_for(coordinator).post(
        "/api/v1/contributions/", api_body(engagement, quantity="1e999999999"), format="json"
    )
    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]


IMPORT_HEADER = "consultant,phase,role,date,kind,activity,quantity,amount,description,status\n"


def import_row(engagement, *, quantity="2", amount="", description="Call", kind="hours"):
    return (
        f"{engagement.consultant.public_id},{engagement.phase.name},Advisor,2026-03-12,"
        f"{kind},work,{quantity},{amount},{description},\n"
    )


@pytest.mark.parametrize(
    ("quantity", "amount", "kind", "words"),
    [
        ("1e999999999", "", "hours", "too large"),
        ("-1e999999999", "", "hours", "too large"),
        ("", "1e999999999", "reimbursement", "too large"),
        ("١٢", "", "hours", "Use the digits 0-9"),
        ("１２", "", "hours", "Use the digits 0-9"),
    ],
)
def test_a_csv_row_with_a_bad_number_is_a_row_error(
    engagement, coordinator, quantity, amount, kind, words
):
    content = IMPORT_HEADER + import_row(engagement, quantity=quantity, amount=amount, kind=kind)
    report = run_import(content=content.encode(), by=coordinator, commit=True)
    assert report.imported == 0
    assert any(words in error for error in report.rows[0].errors), report.rows[0].errors
    assert not Contribution.objects.exists()


def test_a_csv_row_over_the_day_limit_is_a_row_error(engagement, coordinator):
    content = (
        IMPORT_HEADER
        + import_row(engagement, quantity="20")
        + import_row(engagement, quantity="20")
    )
    report = run_import(content=content.encode(), by=coordinator, commit=True)
    assert report.imported == 0
    assert any("a day holds at most 24 hours" in e for e in report.rows[1].errors)
    assert not Contribution.objects.exists()


# --- digits other than 0-9 --------------------------------------------------------------


@pytest.mark.parametrize("digits", ["١٢", "１２", "۱۲", "1٢"])
def test_other_digits_are_refused_on_me_log(client, consultant, engagement, digits):
    client.force_login(consultant.user)
    response = client.post(
        "/me/log/",
        {
            "engagement": str(engagement.public_id),
            "date": WORK_DAY.isoformat(),
            "activity": "work",
            "quantity": digits,
        },
    )
    assert response.status_code == 400
    assert "Use the digits 0-9." in text(response)
    assert not Contribution.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": "١٢"},
        {"quantity": "１２"},
        {"kind": "reimbursement", "quantity": None, "claimed_amount": "١٢.٠٠"},
    ],
)
def test_other_digits_are_refused_in_the_api(engagement, coordinator, overrides):
    response = client_for(coordinator).post(
        "/api/v1/contributions/", api_body(engagement, **overrides), format="json"
    )
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert any("Use the digits 0-9." in m for messages in fields.values() for m in messages)
    assert not Contribution.objects.exists()


def test_other_digits_are_refused_on_the_coordinator_entry_form_and_week_grid(
    client, coordinator, engagement
):
    client.force_login(coordinator)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 7)
    url = (
        reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
        + f"?week={week_label(monday)}"
    )
    response = client.post(url, {f"h-{engagement.public_id.hex}-work-0": "١٢", "then": "submit"})
    assert response.status_code == 400
    assert "Use the digits 0-9." in text(response)
    with pytest.raises(ValidationFailed) as refused:
        log(engagement, coordinator, quantity="１２")
    assert refused.value.field == "quantity"
    assert not Contribution.objects.exists()


def test_has_other_digits():
    assert has_other_digits("١٢") and has_other_digits("１２") and has_other_digits("½")
    assert not has_other_digits("12.50") and not has_other_digits(Decimal("12"))


# --- CSV quoting --------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_reads_doubled_quotes_as_one_cell(engagement, coordinator, delimiter):
    header = IMPORT_HEADER.replace(",", delimiter)
    cells = [
        str(engagement.consultant.public_id),
        engagement.phase.name,
        "Advisor",
        "2026-03-12",
        "hours",
        "work",
        "2",
        "",
        '"He said ""hi"", then left"',
        "",
    ]
    content = header + delimiter.join(cells) + "\n"
    report = run_import(content=content.encode(), by=coordinator, commit=True)
    assert report.rows[0].errors == []
    assert report.imported == 1
    assert Contribution.objects.get().description == 'He said "hi", then left'
