"""Logging one's own hours: they arrive submitted; bad input saves nothing and is kept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements.models import Contribution, Engagement
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db

URL = "/me/log/"


def good(engagement, /, **overrides):
    data = {
        "engagement": str(engagement.public_id),
        "date": timezone.localdate().isoformat(),
        "activity": "preparation",
        "quantity": "2.25",
        "description": "Read the draft survey",
    }
    data.update(overrides)
    return data


def test_the_url_is_the_one_the_nav_links_to():
    assert reverse("portal:log") == URL


def test_logged_hours_arrive_submitted(consultant_client, consultant, engagement):
    response = consultant_client.post(URL, good(engagement))
    c = Contribution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:contribution", kwargs={"public_id": c.public_id})
    assert c.status == Contribution.Status.SUBMITTED
    assert c.logged_by == consultant.user
    assert c.engagement == engagement
    assert (c.kind, c.activity, c.quantity) == ("hours", "preparation", Decimal("2.25"))
    assert c.description == "Read the draft survey"
    page = text(consultant_client.get(response["Location"]))
    assert "Your hours were sent for approval" in page
    assert "You submitted this entry for approval on" in page


def test_the_form_offers_only_their_active_engagements(
    consultant_client, engagement, outsider_engagement
):
    ended = Engagement.objects.create(
        consultant=engagement.consultant,
        phase=outsider_engagement.phase,
        role="Former role",
        rate_card=engagement.rate_card,
        status=Engagement.Status.ENDED,
    )
    page = consultant_client.get(URL).content.decode()
    assert str(engagement.public_id) in page
    assert str(outsider_engagement.public_id) not in page
    assert str(ended.public_id) not in page


def test_no_engagement_no_form(client, outsider):
    client.force_login(outsider.user)
    response = client.get(URL)
    assert "There is no work open for you" in text(response)
    assert '<form method="post"' not in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"quantity": "1.3"}, "quantity", "Hours are logged in quarter hours (0.25, 0.5, 0.75)."),
        ({"quantity": "0"}, "quantity", "The quantity must be more than zero."),
        ({"quantity": "-2"}, "quantity", "The quantity must be more than zero."),
        ({"quantity": "two"}, "quantity", "Enter the hours as a number, for example 1.5."),
        ({"quantity": ""}, "quantity", "Enter how many hours you worked."),
        ({"quantity": "NaN"}, "quantity", "Enter the hours as a number, for example 1.5."),
        ({"date": ""}, "date", "Enter the date of the work."),
        ({"date": "12/03/2026x"}, "date", "Enter the date as year-month-day"),
        ({"activity": "sleeping"}, "activity", "Choose what kind of work it was."),
        ({"engagement": ""}, "engagement", "Choose the work these hours are for."),
    ],
)
def test_bad_input_saves_nothing_says_why_and_keeps_what_was_typed(
    consultant_client, engagement, overrides, field, message
):
    data = good(engagement, **overrides)
    response = consultant_client.post(URL, data)
    assert response.status_code == 400
    assert not Contribution.objects.exists()
    body = response.content.decode()
    assert message in text(response)
    # the error sits on the field, linked for screen readers, and is in the summary
    assert f'id="id_{field}_error"' in body
    assert "Please check the form" in body
    # what was typed comes back
    assert "Read the draft survey" in body
    if field != "quantity" and data["quantity"]:
        assert f'value="{data["quantity"]}"' in body


def test_a_date_in_the_future_is_refused(consultant_client, engagement):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = consultant_client.post(URL, good(engagement, date=tomorrow))
    assert response.status_code == 400
    assert "The date of the work cannot be in the future." in text(response)
    assert f'value="{tomorrow}"' in response.content.decode()
    assert not Contribution.objects.exists()


def test_the_hours_cap_is_explained(consultant_client, engagement):
    engagement.hours_cap = Decimal("2")
    engagement.save()
    response = consultant_client.post(URL, good(engagement, quantity="3"))
    assert response.status_code == 400
    assert "above its cap of 2" in text(response)
    assert not Contribution.objects.exists()


def test_logging_on_someone_elses_engagement_is_impossible(consultant_client, outsider_engagement):
    response = consultant_client.post(URL, good(outsider_engagement))
    assert response.status_code == 400
    assert "Choose one of your own engagements." in text(response)
    assert not Contribution.objects.exists()


def test_logging_on_an_ended_engagement_is_impossible(consultant_client, engagement):
    engagement.status = Engagement.Status.ENDED
    engagement.save()
    response = consultant_client.post(URL, good(engagement))
    assert response.status_code == 400
    assert not Contribution.objects.exists()


def test_staff_cannot_use_the_portal_form(client, coordinator, engagement):
    client.force_login(coordinator)
    assert client.post(URL, good(engagement)).status_code == 404
    assert not Contribution.objects.exists()
