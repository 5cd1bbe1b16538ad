"""The batch builder honours a consultant's pay plan: deferred work waits for its month,
a split month takes at most its share, each payment with work left out is flagged,
and a cancelled plan puts the work back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import StateConflict, ValidationFailed
from income.models import PayPlanEvent
from income.schedule import add_months, month_start
from income.services import pay_plan_cancel, pay_plan_create
from payments.models import PaymentItem
from payments.services.batches import batch_build, batch_cancel
from tests.conftest import requires_postgres
from tests.income.support import ready_to_pay, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(engagement, coordinator):
    ready_to_pay(engagement.consultant)
    return [work(engagement, approver=coordinator, value=v) for v in ("1", "2", "3")]


def _paid_ids(batch):
    return set(
        PaymentItem.objects.filter(payment__batch=batch, live=True).values_list(
            "contribution_id", flat=True
        )
    )


def test_deferred_entries_are_left_out_and_flagged_until_their_month(
    engagement, three, finance, client
):
    today = timezone.localdate()
    next_month = add_months(month_start(today), 1)
    pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=three[:2],
        start_month=next_month,
    )
    batch = batch_build(by=finance, cutoff_date=today)
    assert _paid_ids(batch) == {three[2].pk}
    payment = batch.payments.get()
    assert payment.amount == three[2].amount
    deferred = three[0].amount + three[1].amount
    assert "Part deferred at the consultant's request until" in payment.alert
    assert "2 entries" in payment.alert and f"${deferred:,.2f}" in payment.alert
    assert next_month.strftime("%B %Y") in payment.alert
    # Finance reads the flag on the batch page and on the payment's page.
    client.force_login(finance)
    for url in (
        reverse("payments:batch", args=[batch.public_id]),
        reverse("payments:payment", args=[payment.public_id]),
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert "Part deferred at the consultant&#x27;s request until" in page.content.decode()

    # In the deferral's month the work goes, with no flag.
    batch_cancel(batch=batch, by=finance, reason="Rebuilt a month later")
    later = batch_build(by=finance, cutoff_date=today, today=next_month)
    assert _paid_ids(later) == {c.pk for c in three}
    assert later.payments.get().alert == ""


def test_a_consultant_with_only_deferred_work_gets_no_payment(engagement, three, finance):
    today = timezone.localdate()
    pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=None,
        start_month=add_months(today, 2),
    )
    with pytest.raises(ValidationFailed) as caught:
        batch_build(by=finance, cutoff_date=today)
    assert caught.value.code == "nothing_to_pay"


def test_a_split_month_takes_at_most_its_share_counting_what_it_already_paid(
    engagement, three, finance
):
    today = timezone.localdate()
    this_month = month_start(today)
    limit = three[0].amount + three[1].amount  # the first two fit, the third waits
    plan = pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="split",
        entries=three,
        start_month=this_month,
        months=2,
        month_limit=limit,
    )
    first = batch_build(by=finance, cutoff_date=today)
    assert _paid_ids(first) == {three[0].pk, three[1].pk}
    alert = first.payments.get().alert
    assert "at most" in alert and "1 entry" in alert and f"${three[2].amount:,.2f}" in alert

    # A second batch this month: the month's share is used up.
    with pytest.raises(ValidationFailed):
        batch_build(by=finance, cutoff_date=today)

    # The plan's last month takes the rest.
    last = batch_build(by=finance, cutoff_date=today, today=add_months(this_month, 1))
    assert _paid_ids(last) == {three[2].pk}
    # All its work is in payments now: the plan can no longer be cancelled.
    with pytest.raises(StateConflict):
        pay_plan_cancel(plan=plan, by=engagement.consultant.user)


def test_cancelling_a_plan_restores_ordinary_payment(engagement, three, finance):
    today = timezone.localdate()
    plan = pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=None,
        start_month=add_months(today, 3),
    )
    pay_plan_cancel(plan=plan, by=engagement.consultant.user)
    assert PayPlanEvent.objects.filter(plan=plan, kind="cancelled").count() == 1
    batch = batch_build(by=finance, cutoff_date=today)
    assert _paid_ids(batch) == {c.pk for c in three}
    assert batch.payments.get().alert == ""
    with pytest.raises(StateConflict):
        pay_plan_cancel(plan=plan, by=engagement.consultant.user)


def test_a_plan_is_refused_outside_its_bounds_and_changes_nothing(
    engagement, three, outsider, coordinator
):
    from income.models import PayPlan

    user = engagement.consultant.user
    today = timezone.localdate()
    cases = [
        {"kind": "defer", "start_month": month_start(today)},  # not later
        {"kind": "defer", "start_month": add_months(today, 13)},  # too far
        {"kind": "split", "start_month": today, "months": 7, "month_limit": "500"},
        {"kind": "split", "start_month": today, "months": 1, "month_limit": "500"},
        {"kind": "split", "start_month": today, "months": 2, "month_limit": "0"},
        {"kind": "split", "start_month": today, "months": 2, "month_limit": "1e400"},
        {"kind": "split", "start_month": today, "months": 2, "month_limit": "0.001"},
        # Whole entries that do not fit two months of one cent each.
        {"kind": "split", "start_month": today, "months": 2, "month_limit": "0.01"},
        {"kind": "other", "start_month": add_months(today, 1)},
    ]
    for case in cases:
        with pytest.raises(ValidationFailed):
            pay_plan_create(consultant=engagement.consultant, by=user, entries=None, **case)
    # Someone else's work, or for someone else: refused.
    foreign = work(
        engagement.__class__.objects.create(
            consultant=outsider, phase=engagement.phase, rate_card=engagement.rate_card
        ),
        approver=coordinator,
    )
    with pytest.raises(StateConflict):
        pay_plan_create(
            consultant=engagement.consultant,
            by=user,
            kind="defer",
            entries=[foreign],
            start_month=add_months(today, 1),
        )
    from core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        pay_plan_create(
            consultant=outsider,
            by=user,
            kind="defer",
            entries=None,
            start_month=add_months(today, 1),
        )
    assert PayPlan.objects.count() == 0


def test_an_entry_is_in_one_live_plan_at_most(engagement, three):
    user = engagement.consultant.user
    today = timezone.localdate()
    pay_plan_create(
        consultant=engagement.consultant,
        by=user,
        kind="defer",
        entries=three[:1],
        start_month=add_months(today, 1),
    )
    with pytest.raises(StateConflict):
        pay_plan_create(
            consultant=engagement.consultant,
            by=user,
            kind="defer",
            entries=three[:2],
            start_month=add_months(today, 2),
        )


def test_a_plan_moves_the_promise_and_cancelling_brings_it_back_to_the_next_batch(
    engagement, three
):
    """The promised pay date follows the consultant's plan, so deferred work is never shown
    as late; cancelled, the work is promised from today again, never before."""
    from engagements.models import PayCalendar
    from engagements.paydates import promised_pay_date

    study = engagement.phase.study
    study.pay_calendar, study.pay_days = PayCalendar.MONTHLY, "1,15"
    study.save()
    today = timezone.localdate()
    in_two_months = add_months(month_start(today), 2)
    plan = pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=three[:2],
        start_month=in_two_months,
    )
    for c in three[:2]:
        c.refresh_from_db()
        assert c.promised_pay_date == in_two_months  # the 1st is a batch day
    untouched = three[2].promised_pay_date
    three[2].refresh_from_db()
    assert three[2].promised_pay_date == untouched

    pay_plan_cancel(plan=plan, by=engagement.consultant.user)
    for c in three[:2]:
        c.refresh_from_db()
        approved_on = timezone.localdate(c.approved_at)
        expected = max(
            promised_pay_date(study=study, approved_on=approved_on),
            promised_pay_date(study=study, approved_on=today - timedelta(days=1)),
        )
        assert c.promised_pay_date == expected
        assert c.promised_pay_date < in_two_months


def test_a_deduction_is_never_planned_nor_paid_alone_while_the_work_waits(
    engagement, three, finance, coordinator, coordinator2
):
    """A negative adjustment deferred would pay the consultant in full now; and paid alone,
    with every positive entry held by a plan, it would take money from this month."""
    from engagements.services.contributions import contribution_adjust
    from engagements.services.reviews import contribution_approve
    from income.services import plannable_work

    deduction = contribution_adjust(
        contribution=three[0], by=coordinator, reason="Fewer hours", quantity_delta="-1"
    )
    deduction = contribution_approve(contribution=deduction, by=coordinator2)
    deduction.refresh_from_db()
    assert deduction.amount < 0
    consultant = engagement.consultant
    assert deduction.pk not in {c.pk for c in plannable_work(consultant)}
    with pytest.raises(StateConflict):
        pay_plan_create(
            consultant=consultant,
            by=consultant.user,
            kind="defer",
            entries=[deduction],
            start_month=add_months(timezone.localdate(), 2),
        )
    # Every positive entry deferred: the deduction waits with them, no payment now.
    pay_plan_create(
        consultant=consultant,
        by=consultant.user,
        kind="defer",
        entries=None,
        start_month=add_months(timezone.localdate(), 2),
    )
    with pytest.raises(ValidationFailed) as caught:
        batch_build(by=finance, cutoff_date=timezone.localdate())
    assert caught.value.code == "nothing_to_pay"
    assert not PaymentItem.objects.filter(contribution=deduction).exists()


def test_locked_plannable_work_drops_what_a_batch_just_paid(
    engagement, three, finance, monkeypatch
):
    """The FOR UPDATE statement reads its own snapshot (on PostgreSQL a batch committing
    while it waited is not seen): the payment items are read again after locking. Here the
    snapshot is made stale by hand: the open-items filter sees every row."""
    from django.db.models import Q

    import income.services
    from income.services import plannable_work

    batch = batch_build(by=finance, cutoff_date=timezone.localdate())
    assert _paid_ids(batch) == {c.pk for c in three}
    monkeypatch.setattr(income.services, "open_items_filter", lambda: Q())
    consultant = engagement.consultant
    assert plannable_work(consultant, lock=True) == []
    with pytest.raises(StateConflict) as caught:
        pay_plan_create(
            consultant=consultant,
            by=consultant.user,
            kind="defer",
            entries=[three[0]],
            start_month=add_months(timezone.localdate(), 2),
        )
    assert caught.value.code == "not_plannable"


@requires_postgres
def test_the_split_plans_are_locked_before_the_month_is_read(engagement, three, finance):
    """Two batches at once must not each pay a split month up to its limit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    plan = pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="split",
        entries=None,
        start_month=month_start(today),
        months=3,
        month_limit="1000000.00",
    )
    with CaptureQueriesContext(connection) as queries:
        batch_build(by=finance, cutoff_date=today)
    locks = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "income_payplan"' in q["sql"] and "FOR UPDATE" in q["sql"]
    ]
    assert locks and str(plan.pk) in locks[0]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_plan_asked_while_a_batch_holds_the_work_never_covers_what_it_paid(
    engagement, three, finance, monkeypatch
):
    """Real threads and connections: the batch locks the work and is held just before it
    commits; the consultant's plan waits on the row locks, then must see the payment."""
    import threading

    from django.db import connection

    import payments.services.batches as batches

    locked, go = threading.Event(), threading.Event()
    real = batches.honour_plans

    def held_open(*args, **kwargs):
        answer = real(*args, **kwargs)
        locked.set()
        assert go.wait(timeout=30)
        return answer

    monkeypatch.setattr(batches, "honour_plans", held_open)
    outcomes: dict[str, object] = {}

    def run(name, job):
        try:
            outcomes[name] = job()
        except BaseException as exc:  # reported to the test
            outcomes[name] = exc
        finally:
            connection.close()

    consultant = engagement.consultant
    build = threading.Thread(
        target=run,
        args=("batch", lambda: batch_build(by=finance, cutoff_date=timezone.localdate())),
    )
    build.start()
    assert locked.wait(timeout=30)
    plan = threading.Thread(
        target=run,
        args=(
            "plan",
            lambda: pay_plan_create(
                consultant=consultant,
                by=consultant.user,
                kind="defer",
                entries=[three[0]],
                start_month=add_months(timezone.localdate(), 2),
            ),
        ),
    )
    plan.start()
    # Wait (bounded, no sleep) until the plan's connection is blocked on a row lock.
    with connection.cursor() as cursor:
        for _ in range(200000):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                break
        else:
            pytest.fail("the plan never waited on the batch's locks")
    go.set()
    build.join(timeout=60)
    plan.join(timeout=60)
    assert not build.is_alive() and not plan.is_alive()
    assert not isinstance(outcomes["batch"], BaseException), outcomes
    assert isinstance(outcomes["plan"], StateConflict), outcomes
    from income.models import PayPlan

    assert PayPlan.objects.count() == 0
    assert _paid_ids(outcomes["batch"]) == {c.pk for c in three}
