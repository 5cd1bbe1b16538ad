"""Payout execution fixtures: Honora pointed at the sandbox, and a small world to pay.

The sandbox itself (``stripe_sandbox``, ``stripe_client``, ``webhook_receiver``...) comes
from ``tests/stripe_sandbox/fixtures.py``, loaded for the whole suite by ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from tests.stripe_sandbox.fixtures import API_KEY, WEBHOOK_SECRET


@pytest.fixture
def stripe_settings(settings, stripe_sandbox):
    """Honora's Stripe settings aimed at this test's sandbox, with fast retries.

    Tasks go to the dummy backend (recorded, not run) unless a test says otherwise.
    """
    from payments.stripe.client import reset_clients

    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_ENABLED = True
    settings.STRIPE_API_BASE = stripe_sandbox.url
    settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT = 2
    settings.PAYMENTS_RETRY_BASE_SECONDS = 0
    settings.PAYMENTS_CLAIM_MARGIN_SECONDS = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    reset_clients()
    yield settings
    reset_clients()


@pytest.fixture
def paid_hook(monkeypatch):
    """Records the receipts that paid payments enqueue (``issue_receipt``) instead of issuing them."""
    from types import SimpleNamespace

    from payments.documents import tasks as document_tasks

    calls: list[int] = []
    monkeypatch.setattr(document_tasks, "issue_receipt", SimpleNamespace(enqueue=calls.append))
    return calls


class PayoutWorld:
    """Consultants with onboarded sandbox accounts and approved work, and batches to pay."""

    def __init__(self, sandbox, finance, finance2, coordinator):
        self.sandbox = sandbox
        self.finance = finance
        self.finance2 = finance2
        self.coordinator = coordinator
        self._phase = None

    @property
    def phase(self):
        from tests.factories import PhaseFactory

        if self._phase is None:
            self._phase = PhaseFactory()
        return self._phase

    def consultant(self, amounts=("125.00",), *, onboarded=True, account=True, user=None):
        from datetime import date
        from decimal import Decimal

        from django.utils import timezone

        from consultants.models import PayoutMethod, TaxForm
        from engagements.models import Contribution
        from payments.models import StripeAccount
        from tests.factories import ConsultantFactory, ContributionFactory, EngagementFactory

        consultant = ConsultantFactory(payout_method=PayoutMethod.STRIPE, user=user)
        TaxForm.objects.filter(consultant=consultant).update(
            status=TaxForm.Status.RECEIVED, received_on=date(2026, 1, 5)
        )
        if account:
            acct = self.sandbox.create_account(onboarded=onboarded)
            StripeAccount.objects.create(
                consultant=consultant,
                account_id=acct["id"],
                payouts_enabled=onboarded,
                transfers_active=onboarded,
                requirements_due=[] if onboarded else ["external_account"],
                details_submitted=onboarded,
            )
        engagement = EngagementFactory(consultant=consultant, phase=self.phase)
        for amount in amounts:
            ContributionFactory(
                engagement=engagement,
                kind=Contribution.Kind.HONORARIUM,
                quantity=Decimal("1"),
                rate=Decimal(amount),
                amount=Decimal(amount),
                status=Contribution.Status.APPROVED,
                logged_by=self.coordinator,
                approved_by=self.finance2,
                approved_at=timezone.now(),
                date=date(2026, 3, 12),
            )
        return consultant

    def account_id(self, consultant) -> str:
        return consultant.stripe_account.account_id

    def approved_batch(self):
        from datetime import date

        from payments.services.batches import batch_approve, batch_build, batch_submit

        batch = batch_build(by=self.finance, cutoff_date=date(2026, 3, 31))
        batch_submit(batch=batch, by=self.finance)
        return batch_approve(batch=batch, by=self.finance2)

    def executed_batch(self):
        from payments.services.batches import batch_execute

        batch = self.approved_batch()
        return batch_execute(batch=batch, by=self.finance)

    def live_cents_by_group(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for t in self.sandbox.live_transfers():
            groups.setdefault(t["transfer_group"], []).append(t["amount"])
        return groups

    def assert_paid_exactly_once(self, payments) -> None:
        """Stripe's own dump: one live transfer per payment, for its amount, and no other."""
        from payments.models import Payment

        assert self.sandbox.duplicate_live_transfers() == {}
        groups = self.live_cents_by_group()
        expected = {}
        for payment in payments:
            p = Payment.objects.get(pk=payment.pk)
            expected[str(p.public_id)] = [int(p.amount * 100)]
            assert p.status == Payment.Status.PAID, (p.pk, p.status, p.failure_code)
            [live] = self.sandbox.live_transfers(str(p.public_id))
            assert p.transfer_id == live["id"]
            assert live["destination"] == p.consultant.stripe_account.account_id
        assert groups == expected


@pytest.fixture
def payout_world(stripe_settings, stripe_sandbox, finance, finance2, coordinator):
    return PayoutWorld(stripe_sandbox, finance, finance2, coordinator)
