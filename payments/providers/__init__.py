"""Payment providers: one per rail (see ``base.PaymentProvider``)."""

from __future__ import annotations

from payments.models import Rail

from .base import Executed, Existing, PaymentProvider, ProviderError
from .manual import ManualProvider
from .stripe import StripeProvider


def provider_for(payment, *, stripe_client=None) -> PaymentProvider:
    """The provider that moves this payment's money."""
    if payment.rail == Rail.STRIPE:
        return StripeProvider(client=stripe_client)
    return ManualProvider()


__all__ = [
    "Executed",
    "Existing",
    "ManualProvider",
    "PaymentProvider",
    "ProviderError",
    "StripeProvider",
    "provider_for",
]
