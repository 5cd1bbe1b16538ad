"""A consultant on a 360 px phone opens a waiting request, grants it, then revokes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from consents.models import Standing
from consents.selectors import standing_of
from consents.services import consent_request
from consultants.models import Consultant
from engagements.models import Contribution
from tests.browser.conftest import assert_fits, sign_in_with_session
from tests.factories import EngagementFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LEGAL_NAME = "Zephyrine Quillfeather-Okonkwo"


def test_grant_then_revoke_on_a_phone(narrow_phone, a11y, live_server, client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    maria = UserFactory(email="maria@example.org", name="Maria", roles=["coordinator"])
    river_user = UserFactory(email="river@example.org", name="River", roles=["consultant"])
    river = Consultant.objects.create(
        display_name="River", pseudonym="Riv", user=river_user, email="river@example.net"
    )
    from consultants.services import vault_update

    finance = UserFactory(email="grace@example.org", name="Grace", roles=["finance"])
    vault_update(consultant=river, by=finance, reason="", legal_name=LEGAL_NAME)
    engagement = EngagementFactory(consultant=river, role="Advisor")
    request = consent_request(
        engagement=engagement,
        by=maria,
        use="words",
        purpose="A quote in the final report",
        audience="public_report",
        duration="until",
        until=timezone.localdate() + timedelta(days=365),
        attribution="pseudonym",
        honoraria=1,
    )
    base = live_server.url
    page = narrow_phone
    sign_in_with_session(page.context, client, river_user, base)

    page.goto(base + "/me/")
    a11y.check(page)
    assert_fits(page)
    page.get_by_role("link", name="A request waits for your answer.").click()
    page.wait_for_url("**/me/consents/")
    a11y.check(page)
    assert_fits(page)
    page.get_by_role("link", name="Your words or a quote: A quote in the final report").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert_fits(page)
    assert "Your pseudonym: Riv" in page.content()
    assert "Waiting for an answer" in page.content()

    page.get_by_role("button", name="Grant").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert_fits(page)
    assert "You granted this use." in page.content()
    assert standing_of(request) == Standing.GRANTED
    assert Contribution.objects.filter(kind="honorarium", engagement=engagement).count() == 1

    page.get_by_role("link", name="Revoke").click()
    page.wait_for_url("**/revoke/")
    a11y.check(page)
    assert_fits(page)
    before = len(mail.outbox)
    page.get_by_role("button", name="Yes, revoke it").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert_fits(page)
    content = page.content()
    assert "You revoked this use." in content
    assert "Revoked" in content
    assert LEGAL_NAME not in content
    assert standing_of(request) == Standing.REVOKED
    told = mail.outbox[before:]
    assert len(told) == 1 and maria.email in told[0].to
    assert LEGAL_NAME not in told[0].body
