"""Promised pay dates: the study's payout calendar and its time-to-pay target."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from engagements.models import PayCalendar, Study
from engagements.paydates import (
    calendar_problem,
    is_batch_day,
    longest_gap,
    promised_pay_date,
)

# 2026-12-01 is a Tuesday.
TUESDAY = date(2026, 12, 1)


def study(kind=PayCalendar.NONE, days="", target=14):
    # Unsaved: the function reads the study's fields only.
    return Study(
        name="Paydates",
        hourly_rate_floor=0,
        time_to_pay_days=target,
        pay_calendar=kind,
        pay_days=days,
    )


def test_no_calendar_promises_approval_plus_target():
    assert promised_pay_date(study=study(target=10), approved_on=TUESDAY) == date(2026, 12, 11)


def test_no_calendar_with_not_before_waits_for_it():
    s = study(target=10)
    assert promised_pay_date(study=s, approved_on=TUESDAY, not_before=date(2027, 1, 1)) == date(
        2027, 1, 1
    )
    assert promised_pay_date(study=s, approved_on=TUESDAY, not_before=date(2026, 12, 2)) == date(
        2026, 12, 11
    )


def test_weekly_calendar_is_the_next_batch_weekday_strictly_after_approval():
    s = study(PayCalendar.WEEKLY, "1,4")  # Tuesday and Friday
    assert promised_pay_date(study=s, approved_on=TUESDAY) == date(2026, 12, 4)  # Friday
    assert promised_pay_date(study=s, approved_on=date(2026, 12, 4)) == date(2026, 12, 8)
    assert promised_pay_date(study=s, approved_on=date(2026, 11, 30)) == TUESDAY


def test_monthly_calendar_crosses_the_month_end():
    s = study(PayCalendar.MONTHLY, "5,20", target=30)
    assert promised_pay_date(study=s, approved_on=date(2026, 12, 5)) == date(2026, 12, 20)
    assert promised_pay_date(study=s, approved_on=date(2026, 12, 20)) == date(2027, 1, 5)
    assert promised_pay_date(study=s, approved_on=date(2026, 12, 4)) == date(2026, 12, 5)


def test_not_before_picks_the_first_batch_day_on_or_after_it():
    s = study(PayCalendar.MONTHLY, "1,15", target=17)
    assert promised_pay_date(
        study=s, approved_on=date(2026, 12, 2), not_before=date(2027, 2, 1)
    ) == date(2027, 2, 1)
    assert promised_pay_date(
        study=s, approved_on=date(2026, 12, 2), not_before=date(2027, 2, 2)
    ) == date(2027, 2, 15)


def test_gap_longer_than_the_target_is_refused_naming_both_numbers():
    problem = calendar_problem(kind=PayCalendar.MONTHLY, days=[1], target_days=14)
    assert "31" in problem and "14" in problem
    problem = calendar_problem(kind=PayCalendar.WEEKLY, days=[0], target_days=5)
    assert "7" in problem and "5" in problem
    assert calendar_problem(kind=PayCalendar.WEEKLY, days=[0, 3], target_days=5) == ""
    assert calendar_problem(kind=PayCalendar.MONTHLY, days=[], target_days=14)
    assert calendar_problem(kind=PayCalendar.MONTHLY, days=[29], target_days=60)
    assert calendar_problem(kind=PayCalendar.NONE, days=[], target_days=61)
    assert calendar_problem(kind=PayCalendar.NONE, days=[], target_days=0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "kind", "days"),
    [
        (0, "none", ""),
        (61, "none", ""),
        (14, "none", "1"),
        (14, "weekly", "7"),
        (14, "monthly", "29"),
        (14, "monthly", ""),
        (14, "weekly", "1;2"),
    ],
)
def test_database_refuses_an_impossible_calendar(target, kind, days):
    with pytest.raises(IntegrityError), transaction.atomic():
        Study.objects.create(
            name="Bad",
            hourly_rate_floor=0,
            time_to_pay_days=target,
            pay_calendar=kind,
            pay_days=days,
        )


@pytest.mark.django_db
def test_new_study_takes_the_organisation_target(settings):
    settings.TIME_TO_PAY_TARGET_DAYS = 9
    assert Study.objects.create(name="Nine", hourly_rate_floor=0).time_to_pay_days == 9


calendars = st.one_of(
    st.tuples(st.just(PayCalendar.WEEKLY), st.sets(st.integers(0, 6), min_size=1)),
    st.tuples(st.just(PayCalendar.MONTHLY), st.sets(st.integers(1, 28), min_size=1)),
    st.tuples(st.just(PayCalendar.NONE), st.just(set())),
)


@hsettings(max_examples=300, deadline=None)
@given(
    calendar=calendars,
    target=st.integers(1, 60),
    approved_on=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    wait=st.one_of(st.none(), st.integers(0, 120)),
)
def test_promise_properties(calendar, target, approved_on, wait):
    kind, days = calendar
    target = max(target, longest_gap(kind=kind, days=days))  # only calendars that validate
    assert calendar_problem(kind=kind, days=days, target_days=target) == ""
    s = study(kind, ",".join(str(d) for d in sorted(days)), target)
    not_before = None if wait is None else approved_on + timedelta(days=wait)
    promised = promised_pay_date(study=s, approved_on=approved_on, not_before=not_before)
    assert promised > approved_on
    if not_before is None:
        assert promised <= approved_on + timedelta(days=target)
    else:
        assert promised >= not_before
        assert promised <= max(not_before, approved_on + timedelta(days=1)) + timedelta(days=target)
    if kind != PayCalendar.NONE:
        assert is_batch_day(kind=kind, days=days, day=promised)
        # and it is the first such day: none in between
        start = approved_on if not_before is None else max(approved_on, not_before - timedelta(1))
        day = start + timedelta(days=1)
        while day < promised:
            assert not is_batch_day(kind=kind, days=days, day=day)
            day += timedelta(days=1)
