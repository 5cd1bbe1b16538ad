"""A consultant on a 360 px phone reads their income by month, asks to defer approved
work (choose, confirm), then cancels the request with a confirm step."""

from __future__ import annotations

import pytest

from income.models import PayPlan, PayPlanEvent
from tests.browser.conftest import assert_fits, sign_in_with_session
from tests.factories import ConsultantFactory, EngagementFactory, UserFactory
from tests.income.support import work

pytestmark = pytest.mark.django_db(transaction=True)


def test_income_and_the_plan_flow_on_a_phone(narrow_phone, a11y, live_server, client):
    coordinator = UserFactory(email="maria@example.org", name="Maria", roles=["coordinator"])
    river_user = UserFactory(email="river@example.org", name="River", roles=["consultant"])
    river = ConsultantFactory(display_name="River", user=river_user)
    engagement = EngagementFactory(consultant=river, role="Advisor")
    entry = work(engagement, approver=coordinator, value="2")
    base = live_server.url
    page = narrow_phone
    sign_in_with_session(page.context, client, river_user, base)

    page.goto(base + "/me/income/")
    a11y.check(page)
    assert_fits(page)
    assert "Honora gives no advice about public benefits" in page.content()

    page.get_by_role("link", name="Ask to be paid later or spread out").click()
    page.wait_for_url("**/me/income/plan/")
    a11y.check(page)
    assert_fits(page)
    page.get_by_label("Be paid later, in a month I choose").check()
    page.get_by_role("checkbox").first.check()
    page.get_by_label("From which month?").select_option(index=2)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert_fits(page)
    assert PayPlan.objects.count() == 0
    page.get_by_role("button", name="Yes, send my request").click()
    page.wait_for_url("**/me/income/")
    plan = PayPlan.objects.get()
    assert [e.contribution_id for e in plan.entries.all()] == [entry.pk]
    a11y.check(page)
    assert_fits(page)

    page.get_by_role("link", name="Cancel this request").click()
    page.wait_for_url("**/cancel/")
    a11y.check(page)
    assert_fits(page)
    page.get_by_role("button", name="Yes, cancel it").click()
    page.wait_for_url("**/me/income/")
    assert PayPlanEvent.objects.filter(plan=plan, kind="cancelled").count() == 1
