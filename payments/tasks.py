"""Background work for payments (django-tasks).

Paying comes first: ``pay_payment`` runs at a higher priority than documents, so
a worker busy with a batch pays people before it renders their receipts.
"""

from __future__ import annotations

import logging

from django_tasks import task

from payments.documents.notifications import payment_came_back
from payments.stripe import engine
from payments.stripe.accounts import stripe_account_refresh

log = logging.getLogger("payments.tasks")

PAY_PRIORITY = 50


@task(priority=PAY_PRIORITY)
def pay_payment(payment_id: int) -> str:
    """Pay one payment through its provider; safe to run twice, or twice at once."""
    return engine.pay(payment_id)


@task()
def sweep_payments() -> dict:
    """Pick up payments whose worker died or whose task was lost (see payments_sweep)."""
    return engine.sweep()


@task(priority=PAY_PRIORITY)
def reverse_transfer(payment_id: int) -> str:
    """Take back the transfer of a returned payment whose bank payout failed.

    Its work is released to be paid again once the reversal is confirmed, so the
    money that paid it comes back first (see ``payments.stripe.engine.reverse``).
    """
    return engine.reverse(payment_id)


@task(priority=PAY_PRIORITY)
def check_with_stripe(payment_id: int) -> str:
    """List what Stripe holds for a failed payment, before it may be cancelled."""
    return engine.check_with_stripe(payment_id)


@task()
def tell_payment_came_back(payment_id: int) -> bool:
    """The neutral e-mail to a consultant who asked for e-mails: a payment came back."""
    return payment_came_back(payment_id)


@task()
def refresh_stripe_account(account_id: str) -> str:
    """Read a connected account from Stripe and apply it (when events tie in time)."""
    return stripe_account_refresh(account_id=account_id)
