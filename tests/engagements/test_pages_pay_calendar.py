"""The study's payout calendar page: finance and admin set it, coordinators see it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engagements.models import PayCalendar

pytestmark = pytest.mark.django_db


def url(study):
    return reverse("engagements:study_pay_calendar", kwargs={"public_id": study.public_id})


def post(client, study, **fields):
    data = {"time_to_pay_days": "14", "calendar": "weekly", "reason": "Checks go out on Fridays"}
    data.update(fields)
    return client.post(url(study), data)


def test_finance_sets_a_weekly_calendar_and_history_keeps_why(client, finance, engagement):
    study = engagement.phase.study
    client.force_login(finance)
    response = post(client, study, weekdays=["1", "4"], time_to_pay_days="7")
    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.pay_calendar, study.pay_days, study.time_to_pay_days) == ("weekly", "1,4", 7)
    last = study.history.first()
    assert last.history_change_reason == "Checks go out on Fridays"
    assert last.history_action == "study.pay_calendar_set"
    page = client.get(url(study)).content.decode()
    assert "Weekly, on chosen weekdays: Tuesday, Friday" in page
    assert "set this study&#x27;s payout calendar and time-to-pay target" in page


def test_a_gap_longer_than_the_target_is_refused_naming_both_numbers(client, finance, engagement):
    study = engagement.phase.study
    client.force_login(finance)
    response = post(client, study, calendar="monthly", monthdays="1", time_to_pay_days="14")
    assert response.status_code == 400
    page = response.content.decode()
    assert "31 days apart" in page and "14 days" in page
    study.refresh_from_db()
    assert study.pay_calendar == PayCalendar.NONE


@pytest.mark.parametrize(
    "fields",
    [
        {"time_to_pay_days": "0"},
        {"time_to_pay_days": "61"},
        {"time_to_pay_days": "1e9"},
        {"calendar": "monthly", "monthdays": "29"},
        {"calendar": "monthly", "monthdays": "abc"},
        {"calendar": "monthly", "monthdays": "\u00b2"},  # a digit to isdigit(), not to int()
        {"calendar": "monthly", "monthdays": "1, \u0661"},  # an Arabic-Indic one
        {"calendar": "monthly", "monthdays": "9" * 5000},
        {"calendar": "weekly", "weekdays": []},  # no weekday
        {"calendar": "yearly"},
        {"weekdays": ["9"]},
        {"reason": ""},
    ],
)
def test_bad_input_is_a_clear_error_and_nothing_changes(client, admin_user, engagement, fields):
    study = engagement.phase.study
    client.force_login(admin_user)
    response = post(client, study, **{"weekdays": ["4"], **fields})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()  # beside the field
    study.refresh_from_db()
    assert (study.pay_calendar, study.pay_days) == ("none", "")


def test_coordinators_see_the_calendar_but_cannot_change_it(client, coordinator, engagement):
    study = engagement.phase.study
    client.force_login(coordinator)
    page = client.get(url(study))
    assert page.status_code == 200
    assert '<form method="post"' not in page.content.decode()
    assert post(client, study, weekdays=["4"]).status_code == 403
    study.refresh_from_db()
    assert study.pay_calendar == "none"


def test_the_dashboard_links_to_it(client, coordinator, engagement):
    study = engagement.phase.study
    client.force_login(coordinator)
    page = client.get(reverse("engagements:study_dashboard", kwargs={"public_id": study.public_id}))
    assert url(study) in page.content.decode()
