"""The consultant's and the coordinator's session pages, and who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements.models import Contribution
from meetings.models import Invitation, Session
from tests.meetings.support import delphi_round, invited, meeting, past_meeting_invitation

pytestmark = pytest.mark.django_db


# --- portal ---------------------------------------------------------------------------


def test_my_sessions_shows_upcoming_with_decline_and_calendar(client, engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    inv = invited(session, engagement, coordinator)
    r = delphi_round(engagement.phase, coordinator)
    invited(r, engagement, coordinator)
    client.force_login(engagement.consultant.user)
    page = client.get(reverse("portal:sessions")).content.decode()
    assert "Spring advisory group" in page and "Delphi round 1" in page
    assert reverse("portal:session_decline", kwargs={"public_id": inv.public_id}) in page
    assert reverse("portal:session_calendar", kwargs={"public_id": inv.public_id}) in page
    assert "https://survey.example.org/r/1" in page  # the open round links its questionnaire


def test_a_round_not_open_yet_hides_its_link(client, engagement, coordinator):
    r = delphi_round(engagement.phase, coordinator, opens_in=3)
    invited(r, engagement, coordinator)
    client.force_login(engagement.consultant.user)
    page = client.get(reverse("portal:sessions")).content.decode()
    assert "Delphi round 1" in page and "survey.example.org" not in page


def test_another_consultant_sees_nothing_of_mine(client, engagement, outsider, coordinator):
    session = meeting(engagement.phase, coordinator)
    inv = invited(session, engagement, coordinator)
    client.force_login(outsider.user)
    assert "Spring advisory group" not in client.get(reverse("portal:sessions")).content.decode()
    for name in ("portal:session_decline", "portal:session_calendar"):
        url = reverse(name, kwargs={"public_id": inv.public_id})
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    inv.refresh_from_db()
    assert inv.status == "invited"


def test_decline_confirm_then_post(client, engagement, coordinator):
    inv = invited(meeting(engagement.phase, coordinator), engagement, coordinator)
    client.force_login(engagement.consultant.user)
    url = reverse("portal:session_decline", kwargs={"public_id": inv.public_id})
    page = client.get(url)
    assert page.status_code == 200 and b"Yes, decline" in page.content
    inv.refresh_from_db()
    assert inv.status == "invited"  # the GET only asks
    answer = client.post(url)
    assert answer.status_code == 302 and answer["Location"] == reverse("portal:sessions")
    inv.refresh_from_db()
    assert inv.status == "declined"
    assert b"Yes, decline" not in client.get(url).content


def test_decline_after_the_session_changes_nothing(client, engagement, coordinator):
    _s, inv = past_meeting_invitation(engagement, coordinator)
    client.force_login(engagement.consultant.user)
    client.post(reverse("portal:session_decline", kwargs={"public_id": inv.public_id}))
    inv.refresh_from_db()
    assert inv.status == "invited"


def test_calendar_download(client, engagement, coordinator):
    inv = invited(meeting(engagement.phase, coordinator), engagement, coordinator)
    client.force_login(engagement.consultant.user)
    answer = client.get(reverse("portal:session_calendar", kwargs={"public_id": inv.public_id}))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/calendar")
    assert "attachment" in answer["Content-Disposition"]
    assert b"BEGIN:VCALENDAR\r\n" in answer.content


def test_home_shows_the_next_session(client, engagement, coordinator):
    client.force_login(engagement.consultant.user)
    assert b"Your next session" not in client.get(reverse("portal:home")).content
    inv = invited(meeting(engagement.phase, coordinator), engagement, coordinator)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Your next session" in page and reverse("portal:sessions") in page
    from meetings.services import invitation_decline

    invitation_decline(invitation=inv, by=engagement.consultant.user)
    assert b"Your next session" not in client.get(reverse("portal:home")).content


# --- staff ----------------------------------------------------------------------------


def test_schedule_invite_attend_through_the_pages(
    client, engagement, outsider_engagement, coordinator
):
    client.force_login(coordinator)
    starts = timezone.localtime() - timedelta(hours=3)
    answer = client.post(
        reverse("meetings:schedule"),
        {
            "phase": engagement.phase.pk,
            "kind": "advisory_meeting",
            "title": "Spring meeting",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
            "pay_kind": "hours",
            "pay_quantity": "2",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    session = Session.objects.get()
    detail = reverse("meetings:detail", kwargs={"public_id": session.public_id})
    assert answer["Location"] == detail
    page = client.get(detail).content.decode()
    assert "Sol" in page and "River" in page  # both engaged in the phase, both invitable
    answer = client.post(
        reverse("meetings:invite", kwargs={"public_id": session.public_id}),
        {"engagements": [engagement.pk, outsider_engagement.pk]},
    )
    assert answer.status_code == 302
    invitations = {i.engagement_id: i for i in Invitation.objects.all()}
    answer = client.post(
        reverse("meetings:attendance", kwargs={"public_id": session.public_id}),
        {"attended": [invitations[engagement.pk].pk]},
    )
    assert answer.status_code == 302
    statuses = dict(Invitation.objects.values_list("engagement_id", "status"))
    assert statuses == {engagement.pk: "attended", outsider_engagement.pk: "absent"}
    c = Contribution.objects.get()
    assert c.status == "submitted" and c.quantity == 2 and c.logged_by == coordinator
    assert "Spring meeting" in client.get(detail).content.decode()


def test_schedule_errors_show_on_the_form(client, engagement, coordinator):
    client.force_login(coordinator)
    answer = client.post(
        reverse("meetings:schedule"),
        {
            "phase": engagement.phase.pk,
            "kind": "delphi_round",
            "title": "Round",
            "opens_on": "2026-05-01",
            "closes_on": "2026-05-10",
            "instrument_url": "http://insecure.example.org",
            "pay_kind": "honorarium",
            "pay_quantity": "1",
        },
    )
    assert answer.status_code == 400
    assert b"https://" in answer.content
    assert not Session.objects.exists()


def test_attendance_before_the_start_is_409(client, engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    inv = invited(session, engagement, coordinator)
    client.force_login(coordinator)
    answer = client.post(
        reverse("meetings:attendance", kwargs={"public_id": session.public_id}),
        {"attended": [inv.pk]},
    )
    assert answer.status_code == 409
    assert not Contribution.objects.exists()


def test_cancel_page(client, engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    client.force_login(coordinator)
    url = reverse("meetings:cancel", kwargs={"public_id": session.public_id})
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Room unavailable"}).status_code == 302
    session.refresh_from_db()
    assert session.status == "cancelled" and session.cancel_reason == "Room unavailable"


def test_list_filters_by_study_and_the_study_page_links_it(client, engagement, coordinator):
    session = meeting(engagement.phase, coordinator)
    client.force_login(coordinator)
    study = engagement.phase.study
    page = client.get(reverse("meetings:list") + f"?study={study.public_id}").content.decode()
    assert session.title in page
    assert client.get(reverse("meetings:list") + "?study=nope").status_code == 404
    dash = client.get(reverse("engagements:study_dashboard", kwargs={"public_id": study.public_id}))
    assert reverse("meetings:list").encode() in dash.content


def test_consultants_and_finance_have_no_staff_session_pages(
    client, engagement, coordinator, finance
):
    session = meeting(engagement.phase, coordinator)
    for user in (engagement.consultant.user, finance):
        client.force_login(user)
        for name in ("meetings:detail", "meetings:calendar", "meetings:cancel"):
            url = reverse(name, kwargs={"public_id": session.public_id})
            assert client.get(url).status_code == 403
