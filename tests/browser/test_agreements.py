"""A consultant on a 360 px phone opens the agreement waiting on their home page, reads
it, accepts it and sees it accepted; axe checks every page on the way."""

from __future__ import annotations

import pytest

from agreements.models import AgreementAcceptance
from consultants.models import Consultant
from tests.browser.conftest import assert_fits, sign_in_with_session
from tests.factories import EngagementFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_consultant_accepts_the_agreement_on_a_phone(narrow_phone, a11y, live_server, client):
    user = UserFactory(email="river@example.org", name="River", roles=["consultant"])
    river = Consultant.objects.create(display_name="River", user=user)
    engagement = EngagementFactory(consultant=river, role="Instrument reviewer", agreed=False)
    version = engagement.agreement_versions.get()
    page = narrow_phone
    sign_in_with_session(page.context, client, user, live_server.url)

    page.goto(live_server.url + "/me/")
    a11y.check(page)
    assert_fits(page)
    notice = page.locator("#agreement-waiting")
    assert "waiting for you" in notice.inner_text()
    notice.get_by_role("link", name="Read the agreement").click()
    page.wait_for_url(f"**/me/agreements/{version.public_id}/")
    a11y.check(page)
    assert_fits(page)
    text = page.locator(".agreement-text").inner_text()
    assert "Instrument reviewer" in text and "$60.00 an hour" in text
    assert page.get_by_role("link", name="Download version 1 as a PDF").is_visible()

    page.get_by_role("button", name="I agree").click()
    page.wait_for_url(f"**/me/agreements/{version.public_id}/")
    a11y.check(page)
    assert "You accepted this agreement" in page.locator("#agreement-standing").inner_text()
    assert page.get_by_role("button", name="I agree").count() == 0
    assert AgreementAcceptance.objects.get(version=version).accepted_by == user

    page.goto(live_server.url + "/me/agreements/")
    a11y.check(page)
    assert_fits(page)
    assert "Accepted on" in page.locator("tbody tr").first.inner_text()
    page.goto(live_server.url + "/me/")
    assert page.locator("#agreement-waiting").count() == 0
