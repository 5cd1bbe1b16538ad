"""History names people by display name and role, never by an internal id, on pages and API."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from core.history import history_entries, stamp
from engagements.services.reviews import contribution_approve

pytestmark = pytest.mark.django_db


def _history(client, record, kind="contribution"):
    response = client.get("/api/v1/history/", {"type": kind, "id": str(record.public_id)})
    assert response.status_code == 200, response.content
    return response.json()["entries"]


def _change(entry, field):
    return next(c for c in entry["changes"] if c["field"] == field)


def _page(user, url) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_an_approval_names_the_approver_on_the_api_and_the_page(
    api, submitted, coordinator, coordinator2
):
    contribution_approve(contribution=submitted, by=coordinator2)

    last = _history(api["coordinator"], submitted)[-1]
    assert (last["who"], last["role"], last["action"]) == (
        "Dev",
        "coordinator",
        "contribution.approved",
    )
    # The change says who, and says "nobody" for the empty value it replaced.
    assert _change(last, "approved_by") == {
        "field": "approved_by",
        "label": "approved by",
        "old": "nobody",
        "new": "Dev (coordinator)",
    }
    raw_ids = {str(coordinator.pk), str(coordinator2.pk)}
    for entry in _history(api["coordinator"], submitted):
        for change in entry["changes"]:
            assert change["old"] and change["new"], change  # never a blank either
            if change["field"].endswith("_by"):
                assert {change["old"], change["new"]}.isdisjoint(raw_ids), change

    page = _page(
        coordinator,
        reverse("engagements:contribution_detail", kwargs={"public_id": submitted.public_id}),
    )
    assert "Dev (coordinator) approved this entry on" in page


def test_a_change_listed_field_by_field_names_people_and_says_empty_in_words(
    submitted, coordinator, coordinator2, admin_user
):
    """A change made in the admin lists its fields: a person by name, a blank as words."""
    submitted.approved_by = coordinator2
    submitted.description = ""
    stamp(submitted, by=admin_user, action="contribution.changed_in_admin", reason="fix")
    submitted.save()
    last = history_entries(submitted, viewer=coordinator)[-1]
    changes = {c.field: (c.old, c.new) for c in last.changes}
    assert changes["approved_by"] == ("nobody", "Dev (coordinator)")
    assert "approved by from nobody to Dev (coordinator)" in last.sentence
    assert last.sentence.startswith("Alex (admin) changed")
    assert f" {coordinator2.pk} " not in f" {last.sentence} "


def test_other_records_are_named_too(engagement, coordinator):
    from tests.factories import RateCardFactory

    card = RateCardFactory(study=engagement.phase.study, name="Advisory board card")
    old_name = engagement.rate_card.name
    engagement.rate_card = card
    stamp(engagement, by=coordinator, action="engagement.updated", reason="new card")
    engagement.save()
    change = next(c for c in history_entries(engagement)[-1].changes if c.field == "rate_card")
    assert (change.old, change.new) == (old_name, "Advisory board card")


def test_a_consultant_sees_staff_by_name_themselves_as_you_and_no_other_consultant(
    api, consultant, outsider, submitted, coordinator2
):
    contribution_approve(contribution=submitted, by=coordinator2)
    # Someone else's account touching this entry (say, an account later re-roled):
    # the owner reads that it happened, not who it was.
    submitted.refresh_from_db()
    submitted.description = "noted"
    stamp(submitted, by=outsider.user, action="contribution.edited")
    submitted.save()

    entries = _history(api["consultant"], submitted)
    approval = next(e for e in entries if e["action"] == "contribution.approved")
    assert _change(approval, "approved_by")["new"] == "Dev (coordinator)"
    edit = entries[-1]
    assert (edit["who"], edit["role"]) == ("another consultant", "")
    text = str(entries)
    assert "Sol" not in text and "outsider@example.org" not in text

    page = _page(
        consultant.user, reverse("portal:contribution", kwargs={"public_id": submitted.public_id})
    )
    assert "Dev (coordinator) approved this entry on" in page
    assert "another consultant changed description from not set to noted" in page
    assert "Sol" not in page

    # Staff see every person by name.
    staff_edit = _history(api["coordinator"], submitted)[-1]
    assert (staff_edit["who"], staff_edit["role"]) == ("Sol", "consultant")


def test_the_owner_reading_their_own_record_is_you(api, consultant, engagement):
    from engagements.services.contributions import contribution_create

    own = contribution_create(
        engagement=engagement,
        by=consultant.user,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("1"),
    )
    first = _history(api["consultant"], own)[0]
    assert (first["who"], first["role"]) == ("You", "")
