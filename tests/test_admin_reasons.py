"""A change made in the admin says why: a reason is required, and history names the action.

Before, a coordinator raised an engagement's hours cap 120 -> 5000 and its budget
9000 -> 99,999,999 in the admin, and the history row named the person but no action
and no reason; the same for a W-9's status.
"""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django.urls import reverse

from consultants.models import TaxForm
from core.history import history_entries
from tests.factories import ContributionFactory


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def engagement_form(engagement, **changes) -> dict:
    form = {
        "role": engagement.role,
        "hours_cap": "120",
        "budget": "9000.00",
        "status": engagement.status,
    }
    form.update(changes)
    return form


def test_an_admin_change_without_a_reason_changes_nothing(coordinator, engagement):
    engagement.hours_cap, engagement.budget = Decimal("120"), Decimal("9000.00")
    engagement.save()
    rows = engagement.history.count()
    response = client_for(coordinator).post(
        change_url(engagement), engagement_form(engagement, hours_cap="5000", budget="99999999")
    )
    assert response.status_code == 200
    assert "Say why you are making this change." in response.text
    engagement.refresh_from_db()
    assert (engagement.hours_cap, engagement.budget) == (Decimal("120"), Decimal("9000.00"))
    assert engagement.history.count() == rows


def test_an_admin_change_records_the_action_and_the_reason(coordinator, engagement):
    engagement.hours_cap, engagement.budget = Decimal("120"), Decimal("9000.00")
    engagement.save()
    client = client_for(coordinator)
    page = client.get(change_url(engagement)).text
    assert 'name="change_reason"' in page and "Why are you making this change?" in page
    response = client.post(
        change_url(engagement),
        engagement_form(
            engagement, hours_cap="200", change_reason="the phase was extended by the funder"
        ),
    )
    assert response.status_code == 302, response.text[:3000]
    engagement.refresh_from_db()
    assert engagement.hours_cap == Decimal("200")
    row = engagement.history.latest()
    assert row.history_user == coordinator
    assert row.history_action == "engagement.changed_in_admin"
    assert row.history_change_reason == "the phase was extended by the funder"
    sentence = history_entries(engagement)[-1].sentence
    assert "changed hours cap from 120 to 200" in sentence
    assert '"the phase was extended by the funder"' in sentence


def test_a_tax_form_status_change_in_the_admin_carries_its_reason(finance, consultant):
    form = TaxForm.objects.get(consultant=consultant)
    response = client_for(finance).post(
        change_url(form),
        {"status": "received", "received_on": "2026-02-01", "change_reason": "W-9 came by post"},
    )
    assert response.status_code == 302, response.text[:3000]
    row = TaxForm.objects.get(pk=form.pk).history.latest()
    assert (row.history_user, row.history_action, row.history_change_reason) == (
        finance,
        "taxform.changed_in_admin",
        "W-9 came by post",
    )


def test_inline_rows_saved_with_a_change_carry_the_same_reason(admin_user, engagement):
    study = engagement.phase.study
    phases = list(study.phases.order_by("position"))
    form = {
        "name": study.name,
        "currency": study.currency,
        "hourly_rate_floor": str(study.hourly_rate_floor),
        "budget": "",
        "description": study.description,
        "phases-TOTAL_FORMS": str(len(phases)),
        "phases-INITIAL_FORMS": str(len(phases)),
        "phases-MIN_NUM_FORMS": "0",
        "phases-MAX_NUM_FORMS": "1000",
        "change_reason": "clearer phase name for the advisory board",
    }
    for i, phase in enumerate(phases):
        form |= {
            f"phases-{i}-id": str(phase.pk),
            f"phases-{i}-study": str(study.pk),
            f"phases-{i}-position": str(phase.position),
            f"phases-{i}-name": phase.name + (" (revised)" if i == 0 else ""),
            f"phases-{i}-description": phase.description,
        }
    response = client_for(admin_user).post(change_url(study), form)
    assert response.status_code == 302, response.text[:3000]
    renamed = type(phases[0]).objects.get(pk=phases[0].pk)
    assert renamed.name.endswith("(revised)")
    row = renamed.history.latest()
    assert row.history_action == "phase.changed_in_admin"
    assert row.history_change_reason == "clearer phase name for the advisory board"


def test_view_only_pages_ask_for_no_reason(coordinator2, engagement):
    contribution = ContributionFactory(engagement=engagement)
    response = client_for(coordinator2).get(change_url(contribution))
    assert response.status_code == 200
    assert "Why are you making this change?" not in response.text
