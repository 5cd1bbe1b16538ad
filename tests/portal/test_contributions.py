"""My work: the list with its filters, one entry with its history, and disputing it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from engagements.models import Contribution, Dispute
from engagements.services.contributions import (
    contribution_adjust,
    contribution_create,
    contribution_update,
)
from engagements.services.disputes import dispute_open, dispute_resolve
from engagements.services.reviews import contribution_approve
from tests.factories import EngagementFactory
from tests.portal.conftest import tables, text

pytestmark = pytest.mark.django_db

LIST = "Your entries, newest first"


def detail_url(c):
    return reverse("portal:contribution", kwargs={"public_id": c.public_id})


@pytest.fixture
def two_phases(engagement, make_entry):
    other = EngagementFactory(
        consultant=engagement.consultant,
        phase__study=engagement.phase.study,
        phase__name="Analysis",
        rate_card=engagement.rate_card,
    )
    return {
        "approved": make_entry(engagement, status="approved", quantity="2"),
        "pending": make_entry(engagement, status="submitted_by_consultant", quantity="1.5"),
        "analysis": make_entry(other, status="approved", quantity="4", activity="meeting"),
        "phase": engagement.phase,
        "other_phase": other.phase,
    }


def test_each_entry_shows_rate_amount_and_status(consultant_client, two_phases):
    response = consultant_client.get(reverse("portal:contributions"))
    rows = tables(response)[LIST][1:]
    assert len(rows) == 3
    by_quantity = {r[3]: r for r in rows}
    assert by_quantity["2 hours"][4:6] == ["$60.00 an hour", "$120.00"]
    # approved and not paid yet: the status says by when it will be paid
    promised = timezone.localdate() + timedelta(days=two_phases["phase"].study.time_to_pay_days)
    assert by_quantity["2 hours"][6] == "ApprovedPaid by " + date_format(
        promised, "MONTH_DAY_FORMAT"
    )
    # waiting for approval: an estimate at today's rate, said to be one
    assert by_quantity["1.5 hours"][4:] == [
        "$60.00 an hour (expected)",
        "about $90.00",
        "Waiting for approval",
    ]
    assert by_quantity["4 hours"][2] == "Meeting"


def test_filter_by_phase(consultant_client, two_phases):
    response = consultant_client.get(
        reverse("portal:contributions"), {"phase": two_phases["other_phase"].pk}
    )
    rows = tables(response)[LIST][1:]
    assert [r[1] for r in rows] == ["Analysis"]


def test_filter_by_status(consultant_client, two_phases):
    response = consultant_client.get(reverse("portal:contributions"), {"status": "submitted"})
    rows = tables(response)[LIST][1:]
    assert [r[3] for r in rows] == ["1.5 hours"]
    # the form keeps what was chosen
    assert '<option value="submitted" selected>' in response.content.decode()


def test_filters_combine_and_say_when_nothing_matches(consultant_client, two_phases):
    response = consultant_client.get(
        reverse("portal:contributions"),
        {"phase": two_phases["other_phase"].pk, "status": "submitted"},
    )
    assert LIST not in tables(response)
    assert "No entries match" in text(response)


def test_a_filter_value_that_is_not_a_choice_is_ignored(
    consultant_client, two_phases, outsider_engagement
):
    for params in (
        {"phase": "abc"},
        {"status": "nonsense"},
        {"phase": outsider_engagement.phase.pk + 999},
    ):
        response = consultant_client.get(reverse("portal:contributions"), params)
        assert response.status_code == 200
        assert len(tables(response)[LIST]) == 1 + 3


def test_another_consultants_entries_are_not_listed(
    consultant_client, two_phases, outsider_engagement, make_entry
):
    make_entry(outsider_engagement, status="approved", quantity="9")
    rows = tables(consultant_client.get(reverse("portal:contributions")))[LIST][1:]
    assert "9 hours" not in [r[3] for r in rows]


def test_the_detail_page_tells_the_history_in_plain_words(
    consultant_client, engagement, coordinator, coordinator2
):
    c = contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=timezone.localdate(engagement.created_at),
        quantity=Decimal("2"),
        submit=True,
    )
    contribution_update(
        contribution=c, by=coordinator, reason="included prep time", quantity=Decimal("2.5")
    )
    contribution_approve(contribution=c, by=coordinator2)
    page = text(consultant_client.get(detail_url(c)))
    assert "Maria (coordinator) submitted this entry for approval on" in page
    assert "Maria (coordinator) changed quantity from 2 to 2.5 on" in page
    assert '"included prep time"' in page
    assert "Dev (coordinator) approved this entry on" in page
    assert "$60.00 an hour" in page and "$150.00" in page


def test_the_consultants_own_actions_read_as_you(consultant_client, engagement, make_entry):
    c = make_entry(engagement, status="submitted_by_consultant", quantity="1")
    page = text(consultant_client.get(detail_url(c)))
    assert "You submitted this entry for approval on" in page


def test_adjustments_are_shown_with_their_history(
    consultant_client, engagement, make_entry, coordinator
):
    c = make_entry(engagement, status="approved", quantity="2")
    contribution_adjust(
        contribution=c, by=coordinator, reason="Forgot the travel time", quantity_delta="0.5"
    )
    page = text(consultant_client.get(detail_url(c)))
    assert "Adjustments" in page
    assert "Forgot the travel time" in page
    assert "Maria (coordinator) added an adjustment on" in page
    assert "about $30.00" in page
    # The heading reads as a sentence: no stray space before the comma.
    assert "Adjustment 1: 0.5 hours, about $30.00" in page
    assert " ," not in page


def test_another_consultants_entry_is_404(consultant_client, outsider_engagement, make_entry):
    theirs = make_entry(outsider_engagement, status="approved")
    assert consultant_client.get(detail_url(theirs)).status_code == 404
    response = consultant_client.post(detail_url(theirs), {"comment": "mine now"})
    assert response.status_code == 404
    assert not Dispute.objects.exists()


def test_a_consultant_disputes_an_entry(consultant_client, consultant, engagement, make_entry):
    c = make_entry(engagement, status="approved", quantity="2")
    response = consultant_client.post(detail_url(c), {"comment": "It was 3 hours"})
    assert response.status_code == 302
    dispute = Dispute.objects.get(contribution=c)
    assert dispute.status == "open"
    assert dispute.raised_by == consultant.user
    assert dispute.comment == "It was 3 hours"
    page = text(consultant_client.get(detail_url(c)))
    assert "The entry is marked as disputed" in page
    assert "You disputed this entry on" in page and "It was 3 hours" in page
    # the list says so too
    rows = tables(consultant_client.get(reverse("portal:contributions")))[LIST][1:]
    # ...and that its payment waits until the dispute is resolved (issue 11).
    assert rows[0][-1] == "Approved Disputed Payment waits until the dispute is resolved"


def test_a_second_dispute_is_refused_clearly(consultant_client, engagement, make_entry):
    c = make_entry(engagement, status="approved")
    consultant_client.post(detail_url(c), {"comment": "It was 3 hours"})
    response = consultant_client.post(detail_url(c), {"comment": "Really, 3"})
    assert response.status_code == 409
    assert "This entry already has an open dispute." in text(response)
    assert Dispute.objects.filter(contribution=c).count() == 1
    # what was typed is kept
    assert "Really, 3" in response.content.decode()


def test_a_dispute_needs_a_comment(consultant_client, engagement, make_entry):
    c = make_entry(engagement, status="approved")
    response = consultant_client.post(detail_url(c), {"comment": "   "})
    assert response.status_code == 400
    assert "Say what is wrong with this entry." in text(response)
    assert not Dispute.objects.exists()


def test_a_resolved_dispute_shows_the_answer_and_allows_a_new_one(
    consultant_client, engagement, make_entry, coordinator2, consultant
):
    c = make_entry(engagement, status="approved")
    d = dispute_open(contribution=c, by=consultant.user, comment="Was 3 hours")
    dispute_resolve(dispute=d, by=coordinator2, resolution="Adjusted by 1 hour")
    response = consultant_client.get(detail_url(c))
    page = text(response)
    assert "Dev resolved it on" in page and "Adjusted by 1 hour" in page
    assert "Mark as disputed" in page


def test_staff_have_no_portal(client, coordinator, engagement, make_entry):
    c = make_entry(engagement, status="approved")
    client.force_login(coordinator)
    assert client.get(detail_url(c)).status_code == 404


def test_status_labels_match_the_model(consultant_client, engagement, make_entry):
    make_entry(engagement, status="rejected")
    rows = tables(consultant_client.get(reverse("portal:contributions")))[LIST][1:]
    assert rows[0][-1] == str(Contribution.Status.REJECTED.label)
    assert rows[0][-2] == "none while returned"


def test_long_lists_are_paged_and_keep_the_filter(
    consultant_client, engagement, make_entry, monkeypatch
):
    from portal.views import contributions as portal_views

    monkeypatch.setattr(portal_views, "PAGE_SIZE", 2)
    for _ in range(3):
        make_entry(engagement, status="approved", quantity="1")
    make_entry(engagement, status="submitted_by_consultant", quantity="1")
    response = consultant_client.get(reverse("portal:contributions"), {"status": "approved"})
    assert len(tables(response)[LIST]) == 1 + 2
    body = response.content.decode()
    assert 'href="?status=approved&amp;page=2"' in body
    page2 = consultant_client.get(
        reverse("portal:contributions"), {"status": "approved", "page": 2}
    )
    assert len(tables(page2)[LIST]) == 1 + 1
    assert "Page 2 of 2" in text(page2)
