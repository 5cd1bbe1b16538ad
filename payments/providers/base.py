"""What every way of paying offers Honora (after pretix's ``BasePaymentProvider``).

A provider has an identifier, a human name, a way to execute one attempt of a payment,
a way to find what the provider already holds for a payment, and a way to reverse a
payment. It raises one exception type, ``ProviderError``, whose ``kind`` tells the
engine (``payments.stripe.engine``) what it may do next:

- ``refused``: the provider answered and created nothing; a new attempt (a new key)
  may follow once the cause is fixed and the provider confirms nothing exists;
- ``unknown``: the outcome is not known (the connection dropped, a timeout, a 5xx, a
  conflict, a rate limit); call again later with the same attempt and key;
- ``configuration``: Honora's credentials or settings are wrong; nothing was done;
- ``bug``: Honora sent something it must never send (different parameters under one
  key); an engineer must look before anything is retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ProviderError(Exception):
    REFUSED = "refused"
    UNKNOWN = "unknown"
    CONFIGURATION = "configuration"
    BUG = "bug"
    KINDS = (REFUSED, UNKNOWN, CONFIGURATION, BUG)

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        code: str = "",
        retry_after: float | None = None,
        settled: bool = False,
        reference: str = "",
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown ProviderError kind {kind!r}")
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code or kind
        # For ``unknown``: seconds to wait at least before calling again.
        self.retry_after = retry_after
        # For ``unknown``: the provider has finished with this key and keeps answering
        # the same error (a stored 5xx). Calling again with the key cannot help; only
        # asking what exists can (see payments.stripe.engine).
        self.settled = settled
        # Something was created after all (say, a transfer that does not match the
        # request): its reference. The error never means "nothing exists" then.
        self.reference = reference

    def __str__(self) -> str:
        return f"{self.kind}/{self.code}: {self.message}"


@dataclass(frozen=True)
class Executed:
    """What the provider created for one attempt."""

    reference: str  # the provider's id of the money movement (tr_... for Stripe)
    replayed: bool = False  # the answer was a replay of an earlier call with the same key


@dataclass(frozen=True)
class Existing:
    """A money movement the provider holds for a payment."""

    reference: str
    amount: Decimal
    currency: str
    destination: str
    live: bool  # not (fully) reversed
    metadata: dict = field(default_factory=dict)


class PaymentProvider:
    """Base class. Subclasses set ``identifier`` and ``verbose_name``."""

    identifier: str = ""
    verbose_name: StrOrPromise = ""  # a lazy translation in subclasses

    def prepare(self, payment, attempt_number: int, *, account=None) -> dict:
        """The exact request one attempt sends; stored on the attempt before any call.

        ``account`` is the payee's provider account when the caller has it at hand.

        Raises ``ProviderError`` (refused) when the payment cannot be sent at all.
        """
        raise NotImplementedError

    def execute(self, payment, attempt) -> Executed:
        """Send ``attempt.request`` under ``attempt.idempotency_key``; never in a transaction."""
        raise NotImplementedError

    def find_existing(self, payment) -> list[Existing]:
        """What the provider already holds for this payment (never in a transaction)."""
        return []

    def reverse(self, payment) -> str:
        """Take the money back; returns the provider's reference of the reversal.

        Safe to call again: money already taken back is not taken twice.
        """
        raise ProviderError(
            f"{self.verbose_name} payments cannot be reversed through Honora.",
            kind=ProviderError.REFUSED,
            code="not_reversible",
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identifier}>"
