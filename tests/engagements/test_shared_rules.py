"""Rules written once: which rate applies, quarter hours, and how money and hours read."""

from __future__ import annotations

import inspect
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import override_settings

from core.money import round_money
from engagements import rates, selectors, weekgrid
from engagements.models import Activity, Contribution, Rate
from engagements.rates import pick_rate, rate_in_force
from engagements.services import checks
from portal import selectors as portal_selectors
from tests.engagements.pages_support import log

pytestmark = pytest.mark.django_db


def add_rate(card, amount, effective_from, activity="", kind="hourly"):
    return Rate.objects.create(
        rate_card=card,
        kind=kind,
        activity=activity,
        amount=Decimal(amount),
        floor=Decimal("0"),
        effective_from=effective_from,
    )


def test_one_rule_picks_the_rate_for_the_database_and_for_loaded_rates(engagement, coordinator):
    card = engagement.rate_card  # the factory's general hourly rate, 60.00
    add_rate(card, "70.00", date(2026, 3, 1))
    add_rate(card, "80.00", date(2026, 2, 1), activity="training")
    add_rate(card, "90.00", date(2026, 3, 10), activity="training")
    add_rate(card, "200.00", date(2026, 1, 1), kind="flat")
    loaded = list(Rate.objects.filter(rate_card=card))

    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(0, 100, 3)]
    for on in days:
        for activity in Activity.values:
            for kind in Rate.Kind.values:
                expected = rate_in_force(rate_card=card, activity=activity, kind=kind, on=on)
                assert pick_rate(loaded, activity=activity, kind=kind, on=on) == expected

    assert pick_rate(loaded, activity="training", kind="hourly", on=date(2026, 3, 5)).amount == (
        Decimal("80.00")  # the activity's own rate beats the later general one
    )
    assert pick_rate(loaded, activity="work", kind="hourly", on=date(2026, 3, 5)).amount == (
        Decimal("70.00")
    )
    assert pick_rate([], activity="work", kind="hourly", on=date(2026, 3, 5)) is None


def test_estimates_on_pages_and_in_the_portal_use_the_same_rule(engagement, coordinator):
    card = engagement.rate_card
    add_rate(card, "80.00", date(2026, 2, 1), activity="training")
    entries = [
        log(engagement, coordinator, activity="training", date=date(2026, 3, 12)),
        log(engagement, coordinator, activity="work", date=date(2026, 3, 12)),
    ]
    rows = selectors.with_estimates(
        Contribution.objects.filter(pk__in=[c.pk for c in entries]).select_related(
            "engagement", "adjusts"
        )
    )
    portal = portal_selectors.entry_values(rows)
    for c in rows:
        rate = rate_in_force(rate_card=card, activity=c.activity, kind="hourly", on=c.date).amount
        assert c.shown_amount == portal[c.pk].amount == round_money(c.quantity * rate)
        assert portal[c.pk].rate == rate
    assert not hasattr(selectors, "_best_rate")


def test_quarter_hours_are_defined_once():
    assert weekgrid.QUARTER is rates.QUARTER
    assert checks.QUARTER is rates.QUARTER


def test_field_cleaning_takes_no_engagement():
    assert "engagement" not in inspect.signature(checks.clean_fields).parameters


@pytest.mark.parametrize("library", ["honora", "coordination", "portal"])
@override_settings(USE_THOUSAND_SEPARATOR=False)
def test_money_and_hours_read_the_same_on_every_page(library):
    page = Template(
        "{% load " + library + " %}"
        "{{ big|money }}|{{ negative|money }}|{{ none|money }}|{{ euros|money:'EUR' }}|"
        "{{ other|money:'CHF' }}|{{ hours|hours }}|{{ hours|hours_label }}|{{ one|hours_label }}"
    ).render(
        Context(
            {
                "big": Decimal("1234.5"),
                "negative": Decimal("-5"),
                "none": None,
                "euros": Decimal("3"),
                "other": Decimal("3"),
                "hours": Decimal("2.50"),
                "one": Decimal("1.00"),
            }
        )
    )
    assert page == "$1,234.50|−$5.00|—|€3.00|3.00 CHF|2.5|2.5 hours|1 hour"
