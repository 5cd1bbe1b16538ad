"""Finance sets a study's payout calendar on a 360 px phone; the page passes axe."""

from __future__ import annotations

import pytest

from engagements.models import Study
from tests.browser.conftest import assert_fits, sign_in_with_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_finance_sets_a_monthly_calendar_on_a_phone(
    narrow_phone, a11y, live_server, client, finance, engagement
):
    study = engagement.phase.study
    page = narrow_phone
    base = live_server.url
    sign_in_with_session(page.context, client, finance, base)
    url = f"{base}/studies/{study.public_id}/pay-calendar/"

    page.goto(url)
    a11y.check(page)
    assert_fits(page)

    # A gap longer than the target: refused beside the field, nothing saved.
    page.get_by_label("Time-to-pay target, in days").fill("14")
    page.get_by_label("Monthly, on chosen days of the month").check()
    page.get_by_label("Batch days of the month (for a monthly calendar)").fill("1")
    page.get_by_label("Why it changes").fill("Finance pays twice a month")
    page.get_by_role("button", name="Save the calendar").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert_fits(page)
    assert "31 days apart" in page.content()
    assert Study.objects.get(pk=study.pk).pay_calendar == "none"

    # 1 and 15: up to 17 days apart (the 15th to the 1st of a 31-day month's next).
    page.get_by_label("Time-to-pay target, in days").fill("17")
    page.get_by_label("Batch days of the month (for a monthly calendar)").fill("1, 15")
    page.get_by_label("Why it changes").fill("Finance pays twice a month")
    page.get_by_role("button", name="Save the calendar").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert_fits(page)
    saved = Study.objects.get(pk=study.pk)
    assert (saved.pay_calendar, saved.pay_days, saved.time_to_pay_days) == ("monthly", "1,15", 17)
    assert "The payout calendar is saved." in page.content()
