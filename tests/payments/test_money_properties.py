"""Hypothesis: any sequence of finance actions; afterwards no work is ever paid twice.

Each example builds a small world (consultants paid by check or card, one waiting
for Stripe onboarding, approved work) and runs a generated sequence of actions, by
either of two finance people or the consultants: build, approve, execute, record a
hand-over, mark returned, void, retry, release a hold, cancel, dispute, resolve,
adjust, and a raw ORM write that tries to mark a payment paid behind the services'
backs. Actions the rules refuse are expected (a refusal changes nothing). After every
step:

- no contribution is in two PAID payments, nor in two live payment items, nor in two
  payments whose money was handed over and did not come back;
- nothing is paid by the services while a dispute about it is open;
- each payment's amount is the sum of its items, and fits its column;
- what is paid to a consultant never exceeds the work approved for them.

Each example runs inside a transaction that is rolled back, so examples do not see
each other's rows (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from consultants.models import PayoutMethod, TaxForm
from core.errors import DomainError
from core.money import MONEY_FIELD
from engagements.models import Contribution, Dispute
from engagements.services.contributions import contribution_adjust
from engagements.services.disputes import dispute_open, dispute_resolve
from engagements.services.reviews import contribution_approve
from payments.models import Payment, PaymentItem, PayoutBatch
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
from payments.services.finance import (
    payment_cancel,
    payment_mark_returned,
    payment_record_manual,
    payment_release_hold,
    payment_retry,
    payment_void,
)
from tests.factories import ConsultantFactory, EngagementFactory, UserFactory
from tests.payments.payout_support import CUTOFF, approved

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.usefixtures("paid_hook")]

PS = Payment.Status
LIMIT = Decimal(10) ** (MONEY_FIELD["max_digits"] - MONEY_FIELD["decimal_places"])
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

ACTIONS = (
    "build",
    "approve",
    "execute",
    "record",
    "return",
    "void",
    "retry",
    "release",
    "cancel",
    "dispute",
    "resolve",
    "adjust",
    "raw_paid",
)
step = st.tuples(st.sampled_from(ACTIONS), st.integers(0, 7), st.integers(0, 1))
# Within the bounds: an entry holds at most 24 h, and so does a day (three entries here).
quantities = st.lists(st.sampled_from(["0.5", "2", "7.25", "7.75"]), min_size=1, max_size=3)


class World:
    def __init__(self, finance, finance2, coordinator, coordinator2, quantities):
        self.finance = (finance, finance2)
        self.coordinator, self.coordinator2 = coordinator, coordinator2
        self.consultants = []
        self.raw_paid: set[int] = set()
        for method in (PayoutMethod.CHECK, PayoutMethod.PREPAID_CARD, PayoutMethod.STRIPE):
            consultant = ConsultantFactory(
                user=UserFactory(roles=["consultant"]), payout_method=method
            )
            TaxForm.objects.filter(consultant=consultant).update(
                status=TaxForm.Status.RECEIVED, received_on=CUTOFF
            )
            engagement = EngagementFactory(consultant=consultant)
            for q in quantities:
                approved(engagement, approver=coordinator, quantity=q)
            self.consultants.append(consultant)

    def pick(self, qs, n):
        rows = list(qs.order_by("pk"))
        return rows[n % len(rows)] if rows else None

    def run(self, action: str, n: int, who: int) -> None:
        by = self.finance[who]
        other = self.finance[1 - who]
        payments = Payment.objects.all()
        if action == "build":
            batch_build(by=by, cutoff_date=CUTOFF)
        elif action == "approve":
            batch = self.pick(PayoutBatch.objects.filter(status="draft"), n)
            if batch:
                batch_submit(batch=batch, by=batch.created_by)
                builder = batch.created_by_id
                batch_approve(batch=batch, by=next(f for f in self.finance if f.pk != builder))
        elif action == "execute":
            batch = self.pick(PayoutBatch.objects.filter(status="approved"), n)
            if batch:
                batch_execute(batch=batch, by=by)
        elif action == "record":
            p = self.pick(payments.filter(status=PS.PROCESSING), n)
            if p:
                reference = "1234" if p.method == PayoutMethod.PREPAID_CARD else f"CHK-{n}"
                payment_record_manual(
                    payment=p, by=by, reference=reference, handed_over_on=CUTOFF, today=CUTOFF
                )
        elif action == "return":
            p = self.pick(payments.filter(status=PS.PAID), n)
            if p:
                payment_mark_returned(payment=p, by=by, reason="It came back")
        elif action == "void":
            p = self.pick(payments.filter(status__in=(PS.PROCESSING, PS.PAID)), n)
            if p:
                payment_void(payment=p, by=by, reason="Never handed over")
        elif action == "retry":
            p = self.pick(payments, n)
            if p:
                payment_retry(payment=p, by=by)
        elif action == "release":
            p = self.pick(payments.filter(status=PS.HELD), n)
            if p:
                payment_release_hold(payment=p, by=by, today=CUTOFF)
        elif action == "cancel":
            p = self.pick(payments.filter(status__in=(PS.PENDING, PS.HELD, PS.FAILED)), n)
            if p:
                payment_cancel(payment=p, by=other, reason="Not this time")
        elif action == "dispute":
            c = self.pick(Contribution.objects.filter(adjusts__isnull=True), n)
            if c:
                dispute_open(contribution=c, by=c.engagement.consultant.user, comment="2.5 h not 2")
        elif action == "resolve":
            d = self.pick(Dispute.objects.filter(status=Dispute.Status.OPEN), n)
            if d:
                dispute_resolve(dispute=d, by=self.coordinator2, resolution="Checked")
        elif action == "adjust":
            c = self.pick(Contribution.objects.filter(adjusts__isnull=True), n)
            if c:
                a = contribution_adjust(
                    contribution=c, by=self.coordinator, reason="More hours", quantity_delta="0.5"
                )
                contribution_approve(contribution=a, by=self.coordinator2)
        elif action == "raw_paid":
            # Behind the services' backs: the database itself must refuse a second
            # paid payment for the same work.
            p = self.pick(payments.exclude(status=PS.PAID), n)
            if p:
                self.raw_paid.add(p.pk)
                Payment.objects.filter(pk=p.pk).update(status=PS.PAID, paid_at=timezone.now())

    def check(self) -> None:
        twice_paid = (
            PaymentItem.objects.filter(payment__status=PS.PAID)
            .values("contribution_id")
            .annotate(n=Count("payment_id", distinct=True))
            .filter(n__gt=1)
        )
        assert list(twice_paid) == []
        # Money handed over and not come back (a paid payment later voided counts: the
        # check was handed over): never twice for the same work.
        twice_handed = (
            PaymentItem.objects.filter(payment__paid_at__isnull=False)
            .exclude(payment__status=PS.RETURNED)
            .values("contribution_id")
            .annotate(n=Count("payment_id", distinct=True))
            .filter(n__gt=1)
        )
        assert list(twice_handed) == []
        # Disputes stop money: nothing is paid (by the services) while its dispute is open.
        for item in PaymentItem.objects.filter(payment__status=PS.PAID).exclude(
            payment_id__in=self.raw_paid
        ):
            paid_at = item.payment.paid_at
            open_then = Dispute.objects.filter(
                contribution_id=item.contribution_id, created_at__lt=paid_at
            ).filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=paid_at))
            assert not open_then.exists(), (item.payment_id, item.contribution_id)
        twice_live = (
            PaymentItem.objects.filter(live=True)
            .values("contribution_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert list(twice_live) == []
        for p in Payment.objects.annotate(total=Sum("items__amount")):
            assert p.total is None or p.amount == p.total, (p.pk, p.amount, p.total)
            assert abs(p.amount) < LIMIT
        for consultant in self.consultants:
            work = Contribution.objects.filter(
                engagement__consultant=consultant,
                status__in=(Contribution.Status.APPROVED, Contribution.Status.PAID),
            ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
            paid = sum(
                (
                    p.amount
                    for p in Payment.objects.filter(consultant=consultant, status=PS.PAID)
                    if p.items.exists()
                ),
                Decimal("0"),
            )
            assert abs(work) < LIMIT and abs(paid) < LIMIT
            assert paid <= work, (consultant.pk, paid, work)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(quantities=quantities, steps=st.lists(step, min_size=4, max_size=14))
# The reproductions, always run: a check recorded paid, then voided, and its
# work paid again in the next batch; an entry disputed, then paid anyway.
@example(
    quantities=["2"],
    steps=[
        ("build", 0, 0),
        ("approve", 0, 0),
        ("execute", 0, 0),
        ("record", 0, 1),
        ("void", 0, 1),
        ("build", 0, 0),
        ("approve", 0, 0),
        ("execute", 0, 0),
        ("record", 1, 1),
    ],
)
@example(
    quantities=["2"],
    steps=[
        ("dispute", 0, 0),
        ("build", 0, 0),
        ("approve", 0, 0),
        ("execute", 0, 0),
        ("record", 0, 1),
    ],
)
def test_no_sequence_of_finance_actions_pays_the_same_work_twice(
    finance, finance2, coordinator, coordinator2, settings_tasks, quantities, steps
):
    with transaction.atomic():
        world = World(finance, finance2, coordinator, coordinator2, quantities)
        for action, n, who in steps:
            try:
                with transaction.atomic():
                    world.run(action, n, who)
            except (DomainError, IntegrityError):
                pass  # refused: the rules (or the database) said no, and nothing changed
            world.check()
        transaction.set_rollback(True)


@pytest.fixture
def settings_tasks(settings):
    settings.TASKS = IMMEDIATE
    return settings
