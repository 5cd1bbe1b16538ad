"""Inputs that used to answer 500: huge or tiny numbers, far weeks, ids that are not ids.

And a reimbursement that adjustments would take below zero.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.errors import ValidationFailed
from engagements.models import Contribution
from engagements.services.contributions import contribution_adjust
from engagements.services.engagements import engagement_create, rate_add
from engagements.services.reviews import contribution_reject
from engagements.weekgrid import parse_week, week_label
from tests.engagements.pages_support import approved, log, text

pytestmark = pytest.mark.django_db
S = Contribution.Status


def reimbursement(engagement, by, approver, amount="36.31"):
    return approved(
        engagement,
        by,
        approver,
        kind="reimbursement",
        activity="travel",
        quantity=None,
        claimed_amount=Decimal(amount),
    )


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e30", "-1e30", "1e999999", "99999999999999999999999999999"])
def test_a_huge_amount_spent_is_refused_not_a_crash(engagement, coordinator, amount):
    with pytest.raises(ValidationFailed) as refused:
        log(engagement, coordinator, kind="reimbursement", quantity=None, claimed_amount=amount)
    assert refused.value.field == "claimed_amount"
    assert "too large" in refused.value.message
    assert not Contribution.objects.exists()


@pytest.mark.parametrize(
    ("kind", "quantity"), [("hours", "1e-999999999"), ("honorarium", "1e-999999999")]
)
def test_a_quantity_too_small_to_store_is_refused(engagement, coordinator, kind, quantity):
    # Stored with two places it would be 0.00, which the database refuses (an IntegrityError).
    with pytest.raises(ValidationFailed) as refused:
        log(engagement, coordinator, kind=kind, quantity=quantity)
    assert refused.value.field == "quantity"


def test_a_huge_adjustment_is_refused_on_its_field(engagement, coordinator, coordinator2):
    c = reimbursement(engagement, coordinator, coordinator2)
    with pytest.raises(ValidationFailed) as refused:
        contribution_adjust(contribution=c, by=coordinator, reason="Typo", amount_delta="1e30")
    assert refused.value.field == "amount_delta"


def test_huge_budgets_caps_and_rates_are_refused(engagement, coordinator):
    for field in ("budget", "hours_cap"):
        with pytest.raises(ValidationFailed) as refused:
            engagement_create(
                by=coordinator,
                consultant=engagement.consultant,
                phase=engagement.phase,
                role="Reviewer",
                rate_card=engagement.rate_card,
                **{field: "1e30"},
            )
        assert refused.value.field == field
    with pytest.raises(ValidationFailed) as refused:
        rate_add(
            rate_card=engagement.rate_card,
            by=coordinator,
            kind="hourly",
            amount="1e30",
            effective_from=date(2026, 1, 1),
        )
    assert refused.value.field == "amount"


IMPORT_HEADER = "consultant,phase,role,date,kind,activity,quantity,amount,description,status\n"


def test_an_import_with_huge_numbers_reports_the_rows(client, coordinator, engagement):
    phase = engagement.phase.name
    content = IMPORT_HEADER + (
        f"River,{phase},,2026-01-05,reimbursement,travel,,1e30,Bus,\n"
        f"River,{phase},,2026-01-05,hours,work,2,1e30,,\n"
        f"River,{phase},,2026-01-05,hours,work,1e30,,,\n"
        f"River,{phase},,2026-01-05,reimbursement,travel,,1e-999999999,Bus,\n"
    )
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:import"),
        {"file": SimpleUploadedFile("x.csv", content.encode(), content_type="text/csv")},
    )
    assert response.status_code == 400
    errors = {r.number: r.errors for r in response.context["report"].error_rows}
    assert errors[1] == ["The amount “1e30” is too large."]
    assert errors[2] == ["The amount “1e30” is too large."]
    assert errors[3] == ["The quantity “1e30” is too large."]
    assert errors[4] == ["Enter the amount in dollars and cents."]  # from the service
    assert not Contribution.objects.exists()


# --- reimbursements stay at or above zero --------------------------------------------------


def test_a_reimbursement_cannot_be_adjusted_below_zero(engagement, coordinator, coordinator2):
    c = reimbursement(engagement, coordinator, coordinator2)
    with pytest.raises(ValidationFailed) as refused:
        contribution_adjust(contribution=c, by=coordinator, reason="Typo", amount_delta="-5000")
    assert refused.value.field == "amount_delta"
    assert "below zero" in refused.value.message and "36.31" in refused.value.message
    assert not Contribution.objects.filter(adjusts=c).exists()


def test_live_adjustments_count_and_returned_ones_do_not(engagement, coordinator, coordinator2):
    c = reimbursement(engagement, coordinator, coordinator2)
    first = contribution_adjust(
        contribution=c, by=coordinator, reason="Parking was less", amount_delta="-30.00"
    )
    with pytest.raises(ValidationFailed) as refused:
        contribution_adjust(
            contribution=c, by=coordinator, reason="And the bus", amount_delta="-10.00"
        )
    assert "6.31" in refused.value.message
    # Down to exactly zero is allowed: the whole claim withdrawn.
    contribution_adjust(contribution=c, by=coordinator, reason="Withdrawn", amount_delta="-6.31")
    # A returned adjustment no longer counts.
    contribution_reject(contribution=first, by=coordinator2, reason="Not less")
    contribution_adjust(contribution=c, by=coordinator, reason="And the bus", amount_delta="-10.00")


def test_the_adjust_form_shows_the_refusal_on_its_field(
    client, engagement, coordinator, coordinator2
):
    c = reimbursement(engagement, coordinator, coordinator2)
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:contribution_adjust", kwargs={"public_id": c.public_id}),
        {"adjust-amount_delta": "-5000", "adjust-reason": "Typo"},
    )
    assert response.status_code == 400
    assert "below zero (it is $36.31 now)" in text(response)


# --- weeks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01", "1899-W52", "9999-W01"])
def test_a_week_out_of_range_falls_back_to_this_week(client, coordinator, engagement, week):
    assert parse_week(week) is None
    client.force_login(coordinator)
    response = client.get(
        reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
        + f"?week={week}"
    )
    assert response.status_code == 200
    assert response.context["week"] == week_label(timezone.localdate())
    assert "That week could not be read" in text(response)


def test_the_first_and_last_weeks_in_range_open(client, coordinator, engagement):
    client.force_login(coordinator)
    for week in ("1900-W01", "9998-W52"):
        response = client.get(
            reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
            + f"?week={week}"
        )
        assert response.status_code == 200
        assert response.context["week"] == week


def test_hours_posted_for_an_unreadable_week_are_not_saved_in_this_one(
    client, coordinator, engagement
):
    today = timezone.localdate()
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
        + "?week=9999-W52",
        {f"h-{engagement.public_id.hex}-work-{today.weekday()}": "2"},
    )
    assert response.status_code == 400
    assert "That week could not be read" in text(response)
    assert not Contribution.objects.exists()


@pytest.mark.parametrize("typed", ["1e999999999:00", "1e999999999", "1e-999999999", "sNaN"])
def test_absurd_hours_in_the_grid_are_cell_errors(client, coordinator, engagement, typed):
    monday = timezone.localdate() - date.resolution * (timezone.localdate().weekday() + 7)
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
        + f"?week={week_label(monday)}",
        {f"h-{engagement.public_id.hex}-work-0": typed},
    )
    assert response.status_code == 400
    assert not Contribution.objects.exists()


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["zzz", "1", "%00"])
def test_a_consultant_id_that_is_not_an_id_is_404(client, coordinator, value):
    client.force_login(coordinator)
    response = client.get(reverse("engagements:log"), {"consultant": value})
    assert response.status_code == 404
