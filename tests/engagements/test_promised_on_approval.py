"""Every way an entry becomes approved gives it a promised pay date, and it is kept."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from engagements.models import Contribution, PayCalendar
from engagements.paydates import promised_pay_date
from engagements.services.reviews import contributions_decide
from payments.services.batches import batch_cancel
from tests.payments.payout_support import approved, build

pytestmark = pytest.mark.django_db


def test_single_approval_promises_approval_plus_the_study_target(engagement, coordinator):
    study = engagement.phase.study
    study.time_to_pay_days = 9
    study.save()
    c = approved(engagement, approver=coordinator)
    assert c.promised_pay_date == timezone.localdate() + timedelta(days=9)
    c.refresh_from_db()
    assert c.promised_pay_date == timezone.localdate() + timedelta(days=9)


def test_bulk_approval_follows_the_weekly_calendar(engagement, coordinator, consultant_user):
    from engagements.services.contributions import contribution_create

    study = engagement.phase.study
    study.pay_calendar, study.pay_days, study.time_to_pay_days = PayCalendar.WEEKLY, "4", 7
    study.save()
    entries = [
        contribution_create(
            engagement=engagement,
            by=consultant_user,
            kind="hours",
            activity="work",
            date=date(2026, 3, 12),
            quantity=1,
            submit=True,
        )
        for _n in range(2)
    ]
    decisions = contributions_decide(by=coordinator, contributions=entries, approve=True)
    assert [d.outcome for d in decisions] == ["approved", "approved"]
    today = timezone.localdate()
    for c in Contribution.objects.filter(pk__in=[e.pk for e in entries]):
        assert c.promised_pay_date == promised_pay_date(study=study, approved_on=today)
        assert c.promised_pay_date.weekday() == 4
        assert today < c.promised_pay_date <= today + timedelta(days=7)


def test_work_released_from_a_cancelled_batch_keeps_its_promise(engagement, coordinator, finance):
    c = approved(engagement, approver=coordinator)
    promise = c.promised_pay_date
    batch = build(by=finance)
    batch_cancel(batch=batch, by=finance, reason="Wrong cut-off")
    c.refresh_from_db()
    assert c.status == Contribution.Status.APPROVED
    assert c.promised_pay_date == promise


def test_demo_seed_rows_carry_a_promise():
    from demo.data import seed_demo

    seed_demo()
    approved_rows = Contribution.objects.filter(status=Contribution.Status.APPROVED)
    assert approved_rows.exists()
    assert not approved_rows.filter(promised_pay_date__isnull=True).exists()


def test_the_data_migration_fills_approved_unpaid_work_only(engagement, coordinator, settings):
    import importlib

    from django.apps import apps

    settings.TIME_TO_PAY_TARGET_DAYS = 14
    fill = importlib.import_module("engagements.migrations.0006_fill_promised_pay_dates").fill
    waiting = approved(engagement, approver=coordinator)
    paid = approved(engagement, approver=coordinator)
    Contribution.objects.filter(pk=waiting.pk).update(promised_pay_date=None)
    Contribution.objects.filter(pk=paid.pk).update(promised_pay_date=None, status="paid")
    fill(apps, None)
    waiting.refresh_from_db()
    paid.refresh_from_db()
    assert waiting.promised_pay_date == timezone.localdate(waiting.approved_at) + timedelta(days=14)
    assert paid.promised_pay_date is None
