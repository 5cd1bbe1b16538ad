"""The balance pre-flight: before a batch's Stripe payments go, does Stripe hold the money?

Stripe keeps the platform's balance per source type (``card``, ``bank_account``, ``fpx``)
and a transfer draws only from the one it names (``STRIPE_TRANSFER_SOURCE_TYPE``). When
that balance does not cover what the batch sends through Stripe, every transfer would
come back ``balance_insufficient``: a wave of failed payments to retry one by one. So
execution is refused first, with what is needed and what is there, and nothing changes.

The balance is read from Stripe (one call, outside any transaction). When it cannot be
read, execution is refused too: a careful finance person would rather wait a minute than
start paying on a guess (the engine would survive an underfunded batch, but would leave
every one of its payments failed to retry). It is a check at one moment, not a
reservation: another batch executed at the same time may still spend the money, and then
its transfers are refused and retried as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import StateConflict
from core.money import ZERO, format_money
from payments import preflight
from payments.models import Payment, PayoutBatch, Rail
from payments.providers.base import ProviderError

if TYPE_CHECKING:
    from payments.stripe.provider import StripeProvider


@dataclass(frozen=True)
class Funding:
    """What a batch needs from Stripe and what the configured source type holds."""

    needed: Decimal
    available: Decimal
    currency: str
    source_type: str
    others: dict[str, Decimal]  # other source types of the same currency that hold money

    @property
    def covered(self) -> bool:
        return self.available >= self.needed

    def message(self) -> str:
        words = _(
            "Stripe's available balance does not cover this batch: its direct deposits need "
            "%(needed)s from the %(source_type)s balance, which holds %(available)s. Nothing "
            "was paid and the batch is unchanged."
        ) % {
            "needed": format_money(self.needed, self.currency),
            "source_type": self.source_type,
            "available": format_money(self.available, self.currency),
        }
        enough = sorted(t for t, amount in self.others.items() if amount >= self.needed)
        if enough:
            words += " " + _(
                "The %(other)s balance holds %(other_amount)s: move the money to the "
                "%(source_type)s balance (a top-up adds bank_account money), or set "
                "STRIPE_TRANSFER_SOURCE_TYPE=%(other)s so transfers draw from it."
            ) % {
                "other": enough[0],
                "other_amount": format_money(self.others[enough[0]], self.currency),
                "source_type": self.source_type,
            }
        else:
            words += " " + _("Add funds to the platform's Stripe balance, then execute again.")
        return words


def stripe_total(batch: PayoutBatch) -> Decimal:
    """What executing ``batch`` would send through Stripe now: its pending Stripe
    payments that pass the pre-flight rules again (the others are held at execution)."""
    pending = list(batch.payments.filter(status=Payment.Status.PENDING, rail=Rail.STRIPE))
    if not pending:
        return ZERO
    holds = preflight.preflight_payments(pending, today=timezone.localdate())
    going = [p.pk for p in pending if holds.get(p.pk) is None]
    if not going:
        return ZERO
    total = Payment.objects.filter(pk__in=going).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def batch_funding(batch: PayoutBatch, *, provider: StripeProvider | None = None) -> Funding | None:
    """Stripe's balance against what ``batch`` sends through Stripe; None when it sends
    nothing through Stripe. Raises ``StateConflict`` when the balance cannot be read."""
    needed = stripe_total(batch)
    if needed <= 0:
        return None
    if provider is None:
        from payments.stripe.provider import StripeProvider

        provider = StripeProvider()
    try:
        balances = provider.available_balance()
    except ProviderError as exc:
        raise StateConflict(
            _(
                "Honora could not read Stripe's balance to check that it covers this batch "
                "(%(reason)s). Nothing was paid and the batch is unchanged; try again in a "
                "minute."
            )
            % {"reason": exc.message},
            code="stripe_balance_unavailable",
        ) from None
    currency = batch.currency.upper()
    source_type = settings.STRIPE_TRANSFER_SOURCE_TYPE
    pool = balances.get(currency, {})
    return Funding(
        needed=needed,
        available=pool.get(source_type, ZERO),
        currency=currency,
        source_type=source_type,
        others={t: amount for t, amount in pool.items() if t != source_type and amount > 0},
    )


def require_funds(batch: PayoutBatch, *, provider: StripeProvider | None = None) -> None:
    """Refuse (409, nothing changed) when Stripe's balance does not cover ``batch``."""
    funding = batch_funding(batch, provider=provider)
    if funding is not None and not funding.covered:
        raise StateConflict(funding.message(), code="balance_insufficient")
