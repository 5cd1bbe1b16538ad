"""A consultant on a 360 px phone sees an upcoming session and declines it."""

from __future__ import annotations

import pytest

from meetings.models import Invitation
from tests.browser.conftest import _offline, sign_in_with_session
from tests.factories import UserFactory
from tests.meetings.support import invited, meeting

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def test_a_consultant_declines_a_session_on_a_phone(browser, live_server, client, a11y, engagement):
    coordinator = UserFactory(roles=["coordinator"])
    session = meeting(engagement.phase, coordinator)
    invitation = invited(session, engagement, coordinator)
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    try:
        sign_in_with_session(context, client, engagement.consultant.user, live_server.url)
        page = context.new_page()
        page.goto(live_server.url + "/me/")
        a11y.check(page)
        page.get_by_role("link", name="See your sessions").click()
        page.wait_for_url("**/me/sessions/")
        a11y.check(page)
        _no_sideways_scroll(page)
        assert page.get_by_role("heading", name="Advisory meeting: Spring advisory group").is_visible()
        calendar = page.get_by_role("link", name="Add to my calendar (.ics)")
        box = calendar.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 360
        page.get_by_role("link", name="Decline Spring advisory group").click()
        page.wait_for_url("**/decline/")
        a11y.check(page)
        _no_sideways_scroll(page)
        page.get_by_role("button", name="Yes, decline").click()
        page.wait_for_url("**/me/sessions/")
        a11y.check(page)
        assert "You declined" in page.content()
        assert "Declined" in page.locator(".session-list").first.inner_text()
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.DECLINED
    finally:
        context.close()
