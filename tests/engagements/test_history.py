"""Every change to a contribution is in its history: who, why, and the named action."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from core.history import stamp
from engagements.models import Contribution, Engagement
from engagements.services.contributions import (
    contribution_adjust,
    contribution_create,
    contribution_submit,
    contribution_update,
)
from engagements.services.reviews import contribution_approve, contribution_reject

pytestmark = pytest.mark.django_db


def rows(instance):
    return list(instance.history.order_by("history_date", "history_id"))


def test_a_contributions_whole_life_is_in_its_history(engagement, coordinator, coordinator2):
    c = contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
    )
    c = contribution_submit(contribution=c, by=coordinator)
    c = contribution_update(
        contribution=c, by=coordinator, quantity=Decimal("2.5"), reason="included prep time"
    )
    c = contribution_reject(contribution=c, by=coordinator2, reason="Split it up")
    c = contribution_update(contribution=c, by=coordinator, quantity=Decimal("1.5"))
    c = contribution_submit(contribution=c, by=coordinator)
    c = contribution_approve(contribution=c, by=coordinator2)
    adjustment = contribution_adjust(
        contribution=c, by=coordinator, quantity_delta="0.25", reason="forgot the call-back"
    )

    history = rows(c)
    assert [(h.history_action, h.history_user, h.history_change_reason or "") for h in history] == [
        ("contribution.logged", coordinator, ""),
        ("contribution.submitted", coordinator, ""),
        ("contribution.edited", coordinator, "included prep time"),
        ("contribution.rejected", coordinator2, "Split it up"),
        ("contribution.edited_after_return", coordinator, ""),
        ("contribution.submitted", coordinator, ""),
        ("contribution.approved", coordinator2, ""),
    ]
    assert [h.status for h in history] == [
        "draft",
        "submitted",
        "submitted",
        "rejected",
        "draft",
        "submitted",
        "approved",
    ]
    assert [h.quantity for h in history][1:3] == [Decimal("2.00"), Decimal("2.50")]
    assert history[-1].amount == Decimal("90.00")

    (row,) = rows(adjustment)
    assert (row.history_action, row.history_user, row.history_change_reason) == (
        "contribution.adjustment_added",
        coordinator,
        "forgot the call-back",
    )


def test_a_stamp_is_used_once(engagement, coordinator):
    engagement.role = "Lead advisor"
    stamp(engagement, by=coordinator, action="engagement.updated", reason="promoted")
    engagement.save()
    engagement.save()  # a later save must not repeat the first one's facts
    first, second = rows(engagement)[-2:]
    assert (first.history_user, first.history_action, first.history_change_reason) == (
        coordinator,
        "engagement.updated",
        "promoted",
    )
    assert (second.history_user, second.history_action, second.history_change_reason) == (
        None,
        "",
        None,
    )


def test_a_change_made_in_a_request_records_the_signed_in_user(engagement, coordinator):
    client = Client()
    client.force_login(coordinator)
    change_url = reverse("admin:engagements_engagement_change", args=[engagement.pk])
    response = client.post(
        change_url,
        {
            "consultant": engagement.consultant_id,
            "phase": engagement.phase_id,
            "role": "Recruitment lead",
            "rate_card": engagement.rate_card_id,
            "hours_cap": "40",
            "budget": "",
            "status": "active",
            "change_reason": "leads recruitment now",
        },
    )
    assert response.status_code == 302, response.text[:3000]
    latest = Engagement.objects.get(pk=engagement.pk).history.latest()
    assert latest.role == "Recruitment lead"
    assert latest.history_user == coordinator
    assert latest.history_change_reason == "leads recruitment now"


def test_rows_written_by_a_management_command_name_the_user_and_the_action(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=None)
    domain = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"consultants", "engagements"} and hasattr(m, "history")
    ]
    checked = 0
    for model in domain:
        history = model.history.model.objects.all()
        checked += history.count()
        assert not history.filter(history_action="").exists(), model.__name__
        assert not history.filter(history_user__isnull=True).exists(), model.__name__
    assert checked > 500

    for c in Contribution.objects.filter(status="approved")[:25]:
        approval = c.history.get(history_action="contribution.approved")
        assert approval.history_user_id == c.approved_by_id
        logged = c.history.earliest()
        assert logged.history_user_id == c.logged_by_id

    # The demo people themselves were made by no one, but the action is named.
    user_history = apps.get_model("accounts", "User").history.all()
    assert not user_history.filter(history_action="").exists()
