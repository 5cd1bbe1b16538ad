"""A consultant on a 360 px phone sees an upcoming session and declines it."""

from __future__ import annotations

import pytest

from meetings.models import Invitation
from tests.browser.conftest import assert_fits, sign_in_with_session
from tests.factories import UserFactory
from tests.meetings.support import invited, meeting

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_consultant_declines_a_session_on_a_phone(
    narrow_phone, live_server, client, a11y, engagement
):
    coordinator = UserFactory(roles=["coordinator"])
    session = meeting(engagement.phase, coordinator)
    invitation = invited(session, engagement, coordinator)
    page = narrow_phone
    sign_in_with_session(page.context, client, engagement.consultant.user, live_server.url)
    page.goto(live_server.url + "/me/")
    a11y.check(page)
    page.get_by_role("link", name="See your sessions").click()
    page.wait_for_url("**/me/sessions/")
    a11y.check(page)
    assert_fits(page)
    assert page.get_by_role("heading", name="Advisory meeting: Spring advisory group").is_visible()
    calendar = page.get_by_role("link", name="Add to my calendar (.ics)")
    box = calendar.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360
    page.get_by_role("link", name="Decline Spring advisory group").click()
    page.wait_for_url("**/decline/")
    a11y.check(page)
    assert_fits(page)
    page.get_by_role("button", name="Yes, decline").click()
    page.wait_for_url("**/me/sessions/")
    a11y.check(page)
    assert "You declined" in page.content()
    assert "Declined" in page.locator(".session-list").first.inner_text()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
