"""What building a batch writes, pinned row by row (issue 18: the build is set-based).

One build over consultants in every situation a build handles: nothing in the way,
held by pre-flight (W-9, Stripe account, agreement, their own limit), flagged for
work paid before, flagged for work their pay plan keeps for later, both flags and a
hold at once, and held past the batch limit. For each payment: its state, its alert,
and its history rows in order (type, named action, actor, reason, and the state
each row recorded); one history row per item and one for the batch. The number of
statements a build runs does not grow with the number of consultants; work put in
another batch meanwhile is a 409, not a 500.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consultants.models import CapPeriod, PayoutMethod, TaxForm
from core.errors import StateConflict
from core.money import format_money
from income.schedule import add_months, month_start
from income.services import pay_plan_create
from payments import preflight
from payments.models import Payment, PaymentItem, PayoutBatch
from payments.services import batches
from payments.services.access import require_finance
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from payments.services.finance import payment_mark_returned, payment_record_manual
from tests.factories import ConsultantFactory, EngagementFactory, PhaseFactory, UserFactory
from tests.income.support import work

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
H = Payment.Hold


def _engagement(name, *, method=PayoutMethod.CHECK, w9=True, agreed=True, phase=None):
    consultant = ConsultantFactory(
        user=UserFactory(roles=["consultant"]), display_name=name, payout_method=method
    )
    if w9:
        TaxForm.objects.filter(consultant=consultant).update(
            status=TaxForm.Status.RECEIVED, received_on=date(2026, 1, 5)
        )
    extra = {"phase": phase} if phase is not None else {}
    return EngagementFactory(consultant=consultant, agreed=agreed, **extra)


def _returned(engagement, *, coordinator, finance, finance2):
    """One entry paid by check in a batch of its own, then returned: paid before."""
    today = timezone.localdate()
    entry = work(engagement, approver=coordinator)
    batch = batch_build(by=finance, cutoff_date=today, only=[entry])
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    payment = payment_record_manual(
        payment=batch.payments.get(), by=finance, reference=f"CHK-{entry.pk}", handed_over_on=today
    )
    payment_mark_returned(payment=payment, by=finance2, reason="Check bounced: account closed")
    return entry


def _defer(engagement, entries):
    next_month = add_months(month_start(timezone.localdate()), 1)
    pay_plan_create(
        consultant=engagement.consultant,
        by=engagement.consultant.user,
        kind="defer",
        entries=entries,
        start_month=next_month,
    )


def _payment_rows(payment):
    return [
        (
            row.history_type,
            row.history_action,
            row.history_user_id,
            row.history_change_reason,
            row.status,
            row.hold_reason,
            row.hold_detail,
            row.alert,
            row.amount,
        )
        for row in payment.history.order_by("history_date", "history_id")
    ]


def test_a_build_writes_the_same_payments_holds_flags_and_history_rows(
    settings, coordinator, finance, finance2
):
    settings.TAX_FORM_ORG_THRESHOLD = Decimal("100")  # one entry (2 h at 60) crosses it
    today = timezone.localdate()
    fin = finance.pk

    # Paid before (two of them): each pays a returned entry again.
    cedar = _engagement("Cedar")
    cedar_back = _returned(cedar, coordinator=coordinator, finance=finance, finance2=finance2)
    elm = _engagement("Elm")
    elm_back = _returned(elm, coordinator=coordinator, finance=finance, finance2=finance2)
    elm_now, elm_later = (work(elm, approver=coordinator) for _ in range(2))
    _defer(elm, [elm_later])
    TaxForm.objects.filter(consultant=elm.consultant).update(status=TaxForm.Status.INVALID)

    ash = _engagement("Ash")
    ash_work = [work(ash, approver=coordinator)]
    birch = _engagement("Birch", w9=False)
    birch_work = [work(birch, approver=coordinator)]
    dove = _engagement("Dove")
    dove_now, dove_later = (work(dove, approver=coordinator) for _ in range(2))
    _defer(dove, [dove_later])
    ivy = _engagement("Ivy", method=PayoutMethod.STRIPE)  # no Stripe account
    ivy_work = [work(ivy, approver=coordinator)]
    juniper = _engagement("Juniper", agreed=False)
    juniper_work = [work(juniper, approver=coordinator)]
    kauri = _engagement("Kauri")
    kauri.consultant.benefits_cap_amount = Decimal("50.00")
    kauri.consultant.benefits_cap_period = CapPeriod.YEARLY
    kauri.consultant.save(update_fields=["benefits_cap_amount", "benefits_cap_period"])
    kauri_work = [work(kauri, approver=coordinator)]
    fir = _engagement("Fir")
    fir_work = [work(fir, approver=coordinator)]
    gum = _engagement("Gum")
    gum_work = [work(gum, approver=coordinator, value="3") for _ in range(3)]
    hazel = _engagement("Hazel")
    hazel_work = [work(hazel, approver=coordinator, value="0.25")]

    def total(entries):
        return sum((c.amount for c in entries), Decimal("0.00"))

    # What goes, in the consultants' order: Cedar, Ash, Dove, Fir; then Gum would take
    # the batch past its limit (held), and Hazel still fits.
    going = total([cedar_back, *ash_work, dove_now, *fir_work])
    limit = going + total(hazel_work)
    assert total(gum_work) > total(hazel_work)
    settings.LIMIT_AMOUNT_PER_BATCH = limit

    batch = batch_build(by=finance, cutoff_date=today)

    assert [
        (r.history_type, r.history_action, r.history_user_id, r.history_change_reason)
        for r in batch.history.all()
    ] == [("+", "batch.built", fin, "")]
    payments = {p.consultant_id: p for p in batch.payments.all()}
    expected_work = {
        cedar: [cedar_back],
        elm: [elm_back, elm_now],
        ash: ash_work,
        birch: birch_work,
        dove: [dove_now],
        ivy: ivy_work,
        juniper: juniper_work,
        kauri: kauri_work,
        fir: fir_work,
        gum: gum_work,
        hazel: hazel_work,
    }
    assert set(payments) == {e.consultant_id for e in expected_work}
    for engagement, entries in expected_work.items():
        payment = payments[engagement.consultant_id]
        assert payment.amount == total(entries), engagement.consultant
        assert payment.method == engagement.consultant.payout_method
        items = list(payment.items.order_by("contribution_id"))
        assert [(i.contribution_id, i.amount, i.live) for i in items] == [
            (c.pk, c.amount, True) for c in sorted(entries, key=lambda c: c.pk)
        ]
        for item in items:
            assert [
                (
                    r.history_type,
                    r.history_action,
                    r.history_user_id,
                    r.history_change_reason,
                    r.live,
                    r.amount,
                    r.contribution_id,
                    r.payment_id,
                )
                for r in item.history.all()
            ] == [
                (
                    "+",
                    "payment_item.added",
                    fin,
                    "",
                    True,
                    item.amount,
                    item.contribution_id,
                    payment.pk,
                )
            ]

    def created(payment):
        return ("+", "payment.created", fin, "", PS.PENDING, "", "", "", payment.amount)

    def held(payment, code, alert=""):
        detail = payment.hold_detail
        return ("~", "payment.held", fin, detail, PS.HELD, code, detail, alert, payment.amount)

    def flagged(payment, reason, alert):
        return ("~", "payment.flagged", fin, reason, PS.PENDING, "", "", alert, payment.amount)

    def plain(engagement):
        payment = payments[engagement.consultant_id]
        assert (payment.status, payment.hold_reason, payment.alert) == (PS.PENDING, "", "")
        assert _payment_rows(payment) == [created(payment)]

    for engagement in (ash, fir, hazel):
        plain(engagement)

    for engagement, code, words in (
        (birch, H.W9_MISSING, "no tax form"),
        (ivy, H.ACCOUNT_NOT_READY, "has not started Stripe onboarding"),
        (juniper, H.AGREEMENT_NOT_ACCEPTED, "has no accepted agreement"),
        (kauri, H.BENEFITS_CAP, "the limit of $50.00"),
    ):
        payment = payments[engagement.consultant_id]
        assert (payment.status, payment.hold_reason) == (PS.HELD, code)
        assert words in payment.hold_detail
        assert _payment_rows(payment) == [created(payment), held(payment, code)]

    over = payments[gum.consultant_id]
    assert (over.status, over.hold_reason) == (PS.HELD, H.OVER_LIMIT)
    assert over.hold_detail == (
        f"With this payment the batch would pay {format_money(going + over.amount)}; a batch "
        f"pays at most {format_money(limit)}. Pay it in the next batch."
    )
    assert _payment_rows(over) == [created(over), held(over, H.OVER_LIMIT)]

    back = preflight.paid_before([cedar_back.pk, elm_back.pk])
    assert "came back" in back[cedar_back.pk] and "Check bounced" in back[cedar_back.pk]
    again = payments[cedar.consultant_id]
    assert (again.status, again.alert) == (PS.PENDING, back[cedar_back.pk])
    assert _payment_rows(again) == [
        created(again),
        flagged(again, back[cedar_back.pk], back[cedar_back.pk]),
    ]

    waiting = payments[dove.consultant_id]
    assert waiting.status == PS.PENDING
    assert waiting.alert.startswith("Part deferred at the consultant's request until")
    assert _payment_rows(waiting) == [
        created(waiting),
        flagged(waiting, waiting.alert, waiting.alert),
    ]

    both = payments[elm.consultant_id]
    paid_line, plan_line = both.alert.split("\n")
    assert paid_line == back[elm_back.pk]
    assert plan_line.startswith("Part deferred at the consultant's request until")
    assert (both.status, both.hold_reason) == (PS.HELD, H.W9_MISSING)
    assert _payment_rows(both) == [
        created(both),
        flagged(both, paid_line, paid_line),
        flagged(both, plan_line, both.alert),
        held(both, H.W9_MISSING, both.alert),
    ]
    # Nothing else was written for this batch.
    assert Payment.history.filter(batch_id=batch.pk).count() == 11 + 6 + 4  # created, held, flagged
    assert PaymentItem.history.filter(payment__batch=batch).count() == sum(
        len(e) for e in expected_work.values()
    )


def _mixed(phase, count, *, coordinator):
    """``count`` consultants in one phase, in turn: ready, no W-9, Stripe without an
    account, a pay plan keeping one entry for later."""
    for n in range(count):
        kind = n % 4
        engagement = _engagement(
            f"P{phase.pk}-{n}",
            method=PayoutMethod.STRIPE if kind == 2 else PayoutMethod.CHECK,
            w9=kind != 1,
            phase=phase,
        )
        entries = [work(engagement, approver=coordinator) for _ in range(2)]
        if kind == 3:
            _defer(engagement, entries[:1])


def test_the_statements_a_build_runs_do_not_grow_with_the_consultants(
    settings, coordinator, finance
):
    settings.TAX_FORM_ORG_THRESHOLD = Decimal("100")
    small, large = PhaseFactory(), PhaseFactory()
    _mixed(small, 4, coordinator=coordinator)
    _mixed(large, 12, coordinator=coordinator)
    require_finance(finance)  # the first check of a person's roles reads them, once
    counted = {}
    for phase in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            batch = batch_build(by=finance, cutoff_date=timezone.localdate(), phase=phase)
        counted[phase] = len(ctx.captured_queries)
        statuses = sorted(batch.payments.values_list("status", flat=True))
        n = 4 if phase == small else 12
        assert statuses == sorted([PS.PENDING] * (n // 2) + [PS.HELD] * (n // 2))
    assert counted[large] == counted[small], counted


def test_work_put_in_another_batch_meanwhile_is_a_conflict_and_nothing_is_kept(
    coordinator, finance, finance2, monkeypatch
):
    engagement = _engagement("Ash")
    entries = [work(engagement, approver=coordinator) for _ in range(2)]
    other = PayoutBatch.objects.create(cutoff_date=timezone.localdate(), created_by=finance2)
    real = batches.honour_plans

    def meanwhile(by_consultant, *, today):
        # Another builder claims one entry after this one read the open work.
        payment = Payment.objects.create(
            batch=other,
            consultant=engagement.consultant,
            method=PayoutMethod.CHECK,
            rail="manual",
            amount=entries[1].amount,
        )
        PaymentItem.objects.create(
            payment=payment, contribution=entries[1], amount=entries[1].amount
        )
        return real(by_consultant, today=today)

    monkeypatch.setattr(batches, "honour_plans", meanwhile)
    before = set(PayoutBatch.objects.values_list("pk", flat=True))
    with pytest.raises(StateConflict) as conflict:
        batch_build(by=finance, cutoff_date=timezone.localdate())
    assert conflict.value.code == "already_in_payment"
    assert set(PayoutBatch.objects.values_list("pk", flat=True)) == before
    assert not PaymentItem.objects.filter(contribution=entries[0]).exists()
