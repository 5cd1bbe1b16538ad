"""Background work for payments (django-tasks).

Paying comes first: ``pay_payment`` runs at a higher priority than documents, so
a worker busy with a batch pays people before it renders their receipts.
"""

from __future__ import annotations

import logging

from django_tasks import task

log = logging.getLogger("payments.tasks")

PAY_PRIORITY = 50


@task(priority=PAY_PRIORITY)
def pay_payment(payment_id: int) -> str:
    """Pay one payment through its provider; safe to run twice, or twice at once."""
    from payments.execution import pay

    return pay(payment_id)


@task()
def sweep_payments() -> dict:
    """Pick up payments whose worker died or whose task was lost (see payments_sweep)."""
    from payments.execution import sweep

    return sweep()


@task(priority=PAY_PRIORITY)
def reverse_transfer(payment_id: int) -> str:
    """Take back the transfer of a payment whose bank payout failed (see services).

    The work is released to be paid again, so the money that paid it comes back
    first. The reversal carries a key made from the payment's id: at most one.
    """
    from payments.models import Payment
    from payments.providers import ProviderError, provider_for

    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Payment.Status.RETURNED or not payment.transfer_id:
        return "nothing to reverse"
    try:
        return provider_for(payment).reverse(payment, reason=payment.closed_reason)
    except ProviderError as exc:
        if exc.kind == ProviderError.UNKNOWN:
            # Same key next time: a reversal that did happen is replayed, not repeated.
            _again_later(reverse_transfer, payment_id)
            return f"retry: {exc.code}"
        log.warning("payment %s: reversal not made: %s", payment.public_id, exc.code)
        return f"not reversed: {exc.code}"


def _again_later(task_, *args, seconds: int = 60) -> None:
    from datetime import timedelta

    from django.utils import timezone

    if getattr(task_.get_backend(), "supports_defer", False):
        task_.using(run_after=timezone.now() + timedelta(seconds=seconds)).enqueue(*args)


@task()
def refresh_stripe_account(account_id: str) -> str:
    """Read a connected account from Stripe and apply it (when events tie in time)."""
    from payments.services import stripe_account_refresh

    return stripe_account_refresh(account_id=account_id)
