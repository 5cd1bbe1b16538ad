"""Agreement versions and the acceptance gate: issue, log, hold, accept, pay."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements.models import AgreementAcceptance, AgreementVersion
from agreements.services import (
    agreement_accept,
    agreement_issue,
    agreement_record_paper,
    agreements_refresh,
)
from agreements.tasks import recheck_agreement_holds
from consultants.services import consultant_update_preferences
from core.append_only import AppendOnlyError
from core.errors import NotAllowed, StateConflict, ValidationFailed
from engagements.services.engagements import engagement_create, rate_add
from payments import preflight
from payments.models import Payment
from payments.services.finance import payment_release_hold
from tests.factories import EngagementFactory, PhaseFactory, RateCardFactory
from tests.payments.payout_support import approved, build

pytestmark = pytest.mark.django_db
HOLD = Payment.Hold.AGREEMENT_NOT_ACCEPTED


@pytest.fixture
def fresh(consultant, coordinator):
    """An engagement made the way coordinators make one: version 1 waits for River."""
    phase = PhaseFactory()
    card = RateCardFactory(study=phase.study)
    return engagement_create(
        by=coordinator, consultant=consultant, phase=phase, role="Advisor", rate_card=card
    )


def latest(engagement) -> AgreementVersion:
    return engagement.agreement_versions.order_by("-number").first()


def test_engagement_creation_issues_version_one_with_the_terms(fresh, coordinator, consultant):
    v = latest(fresh)
    assert (v.number, v.reason, v.issued_by, v.language) == (1, "first", coordinator, "en")
    t = v.terms
    assert t["role"] == "Advisor"
    assert {
        "activity": "",
        "kind": "hourly",
        "amount": "60.00",
        "effective_from": "2020-01-01",
    } in (t["rates"])
    assert t["payout_method"] == consultant.payout_method
    assert t["time_to_pay_days"] == 14
    assert t["contact"]["email"] == coordinator.email
    assert set(t["paid_extras"]) == {"preparation", "travel", "paperwork", "training"}
    assert "$60.00 an hour" in v.text
    assert coordinator.email in v.text
    assert "stop at any time" in v.text
    assert not AgreementAcceptance.objects.filter(version=v).exists()


def test_work_is_logged_before_acceptance_but_held_until_accepted(
    fresh, consultant, coordinator, finance, django_capture_on_commit_callbacks
):
    approved(fresh, approver=coordinator)
    batch = build(by=finance)
    payment = batch.payments.get()
    assert payment.status == Payment.Status.HELD
    assert payment.hold_reason == HOLD
    assert "Advisor" in payment.hold_detail and "version 1" in payment.hold_detail
    with pytest.raises(StateConflict):
        payment_release_hold(payment=payment, by=finance)

    with django_capture_on_commit_callbacks() as callbacks:
        agreement_accept(version=latest(fresh), by=consultant.user)
    assert len(callbacks) == 1  # the recheck, once committed
    assert recheck_agreement_holds.call(consultant.pk) == 1
    payment.refresh_from_db()
    # Accepting lifts the hold: the payment goes through the pre-flight again.
    assert payment.status == Payment.Status.PENDING
    assert payment.hold_reason == ""


def test_finance_release_rechecks_the_agreement(fresh, consultant, coordinator, finance):
    approved(fresh, approver=coordinator)
    payment = build(by=finance).payments.get()
    agreement_accept(version=latest(fresh), by=consultant.user)  # task not run: still held
    payment.refresh_from_db()
    assert payment.status == Payment.Status.HELD
    released = payment_release_hold(payment=payment, by=finance)
    assert released.status == Payment.Status.PENDING


def test_rate_change_makes_v2_and_only_later_work_waits(
    engagement, consultant, coordinator, finance, admin_user
):
    old = approved(engagement, approver=coordinator)  # 2026-03-12, under accepted v1
    today = timezone.localdate()
    rate_add(
        rate_card=engagement.rate_card,
        by=admin_user,
        kind="hourly",
        amount="70",
        effective_from=today,
    )
    v2 = latest(engagement)
    assert (v2.number, v2.reason) == (2, "rate_changed")
    assert any(r["amount"] == "70.00" for r in v2.terms["rates"])
    new = approved(engagement, approver=coordinator, day=today)
    holds = preflight.agreement_gaps(
        [("old", engagement.pk, old.date), ("new", engagement.pk, new.date)]
    )
    assert set(holds) == {"new"}
    assert "version 2" in holds["new"]
    payment = build(by=finance, cutoff_date=today).payments.get()
    assert payment.hold_reason == HOLD
    # Paying the older work alone goes ahead.
    from payments.services.finance import payment_cancel

    payment_cancel(payment=payment, by=finance, reason="pay the March work now")
    before = build(by=finance, cutoff_date=today - timedelta(days=1)).payments.get()
    assert before.status == Payment.Status.PENDING
    assert list(before.items.values_list("contribution_id", flat=True)) == [old.pk]


def test_payout_method_change_makes_a_new_version(engagement, consultant):
    consultant_update_preferences(
        consultant=consultant,
        by=consultant.user,
        payout_method="gift_card",
        gift_card_store="Co-op",
    )
    v = latest(engagement)
    assert (v.number, v.reason, v.issued_by) == (2, "method_changed", None)
    assert v.terms["payout_method"] == "gift_card"
    # Nothing changed since: no new version.
    assert agreements_refresh(engagements=[engagement], by=None) == []


def test_stale_and_duplicate_acceptance_are_conflicts(fresh, consultant, coordinator):
    v1 = latest(fresh)
    v2 = agreement_issue(engagement=fresh, by=coordinator)
    with pytest.raises(StateConflict) as stale:
        agreement_accept(version=v1, by=consultant.user)
    assert stale.value.code == "not_latest"
    agreement_accept(version=v2, by=consultant.user)
    with pytest.raises(StateConflict) as twice:
        agreement_accept(version=v2, by=consultant.user)
    assert twice.value.code == "already_accepted"


def test_only_the_consultant_accepts(fresh, outsider, coordinator):
    for who in (outsider.user, coordinator):
        with pytest.raises(NotAllowed):
            agreement_accept(version=latest(fresh), by=who)


def test_paper_acceptance_needs_a_witness(fresh, consultant, coordinator):
    v = latest(fresh)
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as missing:
        agreement_record_paper(version=v, by=coordinator, witnessed_by=" ", accepted_on=today)
    assert missing.value.field == "witnessed_by"
    with pytest.raises(ValidationFailed):
        agreement_record_paper(version=v, by=coordinator, witnessed_by="x" * 121, accepted_on=today)
    with pytest.raises(ValidationFailed):
        agreement_record_paper(
            version=v, by=coordinator, witnessed_by="Ana", accepted_on=today + timedelta(days=1)
        )
    with pytest.raises(NotAllowed):
        agreement_record_paper(version=v, by=consultant.user, witnessed_by="Ana", accepted_on=today)
    a = agreement_record_paper(
        version=v, by=coordinator, witnessed_by="Ana (peer worker)", accepted_on=today
    )
    assert (a.how, a.accepted_by, a.witnessed_by) == ("paper", coordinator, "Ana (peer worker)")
    assert preflight.agreement_gaps([(1, fresh.pk, today)]) == {}


def test_versions_and_acceptances_are_never_edited(engagement):
    v = latest(engagement)
    v.text = "changed"
    with pytest.raises(AppendOnlyError):
        v.save()
    with pytest.raises(AppendOnlyError):
        AgreementVersion.objects.filter(pk=v.pk).update(text="x")
    with pytest.raises(AppendOnlyError):
        v.acceptance.delete()


def test_batched_preflight_checks_agreements_in_fixed_queries(coordinator, finance):
    from tests.payments.payout_support import consultant_with_work

    for _n in range(2):
        consultant_with_work(approver=coordinator)
    pending = list(build(by=finance).payments.all())

    def count():
        with CaptureQueriesContext(connection) as ctx:
            preflight.preflight_payments(pending, today=date(2026, 4, 1))
        return len(ctx.captured_queries)

    few = count()
    for _n in range(3):
        consultant_with_work(approver=coordinator)
    pending = list(build(by=finance).payments.all()) + pending
    assert count() == few


def test_unaccepted_factory_engagement_is_held(consultant, coordinator, finance):
    e = EngagementFactory(consultant=consultant, agreed=False)
    approved(e, approver=coordinator)
    payment = build(by=finance).payments.get()
    assert payment.hold_reason == HOLD
    assert recheck_agreement_holds.call(consultant.pk) == 0
    agreement_accept(version=latest(e), by=consultant.user)
    assert recheck_agreement_holds.call(consultant.pk) == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert Decimal(payment.amount) == Decimal("120.00")
