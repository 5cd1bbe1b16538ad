"""The plan flow on the consultant's pages: choose, confirm, then cancel with a confirm step;
finance sees the live plan on the consultant's finance page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from income.models import PayPlan, PayPlanEvent
from income.schedule import add_months
from tests.income.support import ready_to_pay, work

pytestmark = pytest.mark.django_db


def test_choose_confirm_then_cancel(client, engagement, coordinator, outsider):
    ready_to_pay(engagement.consultant)
    entries = [work(engagement, approver=coordinator, value=v) for v in ("1", "2")]
    client.force_login(engagement.consultant.user)
    url = reverse("portal:income_plan")
    page = client.get(url)
    assert page.status_code == 200
    month = add_months(timezone.localdate(), 2).strftime("%Y-%m")
    chosen = {"kind": "defer", "entries": [entries[0].pk], "start_month": month}
    confirm = client.post(url, chosen)
    assert confirm.status_code == 200 and PayPlan.objects.count() == 0
    assert 'name="confirmed" value="yes"' in confirm.content.decode()
    done = client.post(url, {**chosen, "confirmed": "yes"})
    assert done.status_code == 302
    plan = PayPlan.objects.get()
    assert [e.contribution_id for e in plan.entries.all()] == [entries[0].pk]

    # Bad input: a clear error, nothing saved.
    bad = client.post(
        url,
        {
            "kind": "split",
            "entries": [entries[1].pk],
            "start_month": month,
            "months": "9",
            "month_limit": "-5",
            "confirmed": "yes",
        },
    )
    assert bad.status_code == 400 and PayPlan.objects.count() == 1
    bad = client.post(
        url,
        {
            "kind": "split",
            "entries": [entries[1].pk],
            "start_month": month,
            "months": "2",
            "month_limit": "0.01",
            "confirmed": "yes",
        },
    )
    assert bad.status_code == 400 and PayPlan.objects.count() == 1

    cancel = reverse("portal:income_plan_cancel", args=[plan.public_id])
    assert client.get(cancel).status_code == 200
    assert not PayPlanEvent.objects.exists()
    # Another consultant cannot see or cancel it.
    client.force_login(outsider.user)
    assert client.post(cancel).status_code == 404
    client.force_login(engagement.consultant.user)
    assert client.post(cancel).status_code == 302
    assert PayPlanEvent.objects.filter(plan=plan, kind="cancelled").count() == 1
    assert client.post(cancel).status_code == 409


def test_finance_sees_the_live_plan(client, engagement, coordinator, finance):
    from income.services import pay_plan_create

    ready_to_pay(engagement.consultant)
    entry = work(engagement, approver=coordinator, value="2")
    pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=[entry],
        start_month=add_months(timezone.localdate(), 1),
    )
    client.force_login(finance)
    response = client.get(reverse("payments:consultant", args=[engagement.consultant.public_id]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Deferred until" in body and "1 entry waiting" in body


@pytest.mark.parametrize(
    "split",
    [
        {},  # neither months nor a limit: the confirm page said "over None months"
        {"months": "2"},
        {"month_limit": "50.00"},
        {"months": "2", "month_limit": "0.01"},  # does not fit: said on the first step
    ],
)
def test_an_incomplete_split_is_refused_on_the_first_step(client, engagement, coordinator, split):
    ready_to_pay(engagement.consultant)
    entry = work(engagement, approver=coordinator, value="2")
    client.force_login(engagement.consultant.user)
    month = timezone.localdate().strftime("%Y-%m")
    response = client.post(
        reverse("portal:income_plan"),
        {"kind": "split", "entries": [entry.pk], "start_month": month, **split},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'name="confirmed"' not in body and "None" not in body
    assert 'class="errorlist' in body
    assert PayPlan.objects.count() == 0
