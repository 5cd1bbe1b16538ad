"""Stripe Connect: a payment is one Transfer to the consultant's connected account.

Integer cents and raw Stripe objects exist here and nowhere else (invariant 1):
what Stripe sends about transfers and payouts is read here into small typed values
with decimal amounts (``transfer_news``, ``payout_news``, ``existing``). Every call
runs outside any database transaction; the engine (``payments.stripe.engine``)
decides when to call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

import stripe
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.models import Payment, PaymentAttempt, StripeAccount
from payments.providers.base import Executed, Existing, PaymentProvider, ProviderError
from payments.stripe.client import StripeNotConfigured, stripe_client

if TYPE_CHECKING:
    from stripe.params import AccountCreateParams, TransferCreateParams

log = logging.getLogger(__name__)

# Currencies whose smallest unit is not a hundredth: Honora refuses them rather than
# guess (its amounts have two decimal places).
ZERO_OR_THREE_DECIMAL = {
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
    "VUV", "XAF", "XOF", "XPF", "BHD", "JOD", "KWD", "OMR", "TND",
}  # fmt: skip

# What finance reads when Stripe refuses a transfer (the code is shown beside it).
REFUSALS = {
    "balance_insufficient": gettext_lazy(
        "The platform's Stripe balance is too low for this transfer. Add funds, then retry."
    ),
    "insufficient_capabilities_for_transfer": gettext_lazy(
        "The consultant's Stripe account cannot receive transfers now. Ask them to finish "
        "or update their Stripe set-up, then retry."
    ),
    "account_invalid": gettext_lazy("Stripe does not know the consultant's connected account."),
    "resource_missing": gettext_lazy("Stripe does not know the consultant's connected account."),
}


def to_cents(amount: Decimal, currency: str) -> int:
    """Exactly ``amount`` in the currency's smallest unit; anything else is refused."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        raise ProviderError(
            _("Amounts are decimals, never %(type)s.") % {"type": type(amount).__name__},
            kind=ProviderError.BUG,
            code="amount_not_decimal",
        )
    if (currency or "").upper() in ZERO_OR_THREE_DECIMAL or len(currency or "") != 3:
        raise ProviderError(
            _("Honora pays only in currencies with cents; %(currency)s is not one.")
            % {"currency": currency},
            kind=ProviderError.REFUSED,
            code="currency_unsupported",
        )
    if not amount.is_finite():
        raise ProviderError(_("The amount is not a number."), kind=ProviderError.BUG, code="amount")
    try:
        cents = amount * 100
        whole = cents.to_integral_value()
    except InvalidOperation:
        raise ProviderError(
            _("The amount is not a number."), kind=ProviderError.BUG, code="amount"
        ) from None
    if cents != whole:
        raise ProviderError(
            _("%(amount)s is not a whole number of cents.") % {"amount": amount},
            kind=ProviderError.REFUSED,
            code="amount_not_whole_cents",
        )
    if whole <= 0:
        raise ProviderError(
            _("Only a positive amount can be transferred."),
            kind=ProviderError.REFUSED,
            code="amount_not_positive",
        )
    return int(whole)


def from_cents(cents: int) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def canonical(params: dict[str, Any]) -> dict[str, Any]:
    """The same parameters in the same order on every call under one key.

    A JSON column may hand keys back in another order; Stripe (and the sandbox)
    compare a retried request with the first one.
    """
    return {
        key: canonical(value) if isinstance(value, dict) else value
        for key, value in sorted(params.items())
    }


def _header(error: stripe.StripeError, name: str) -> str:
    headers = error.headers or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def translate(error: stripe.StripeError) -> ProviderError:
    """Turn an SDK error into what the engine may do next (STRIPE.md's table)."""
    status = error.http_status
    code = getattr(error, "code", None) or ""
    message = error.user_message or str(error) or type(error).__name__
    if isinstance(error, stripe.IdempotencyError):
        # Honora sent other parameters under a key it had used: a bug, never retried blindly.
        return ProviderError(message, kind=ProviderError.BUG, code="idempotency_error")
    if isinstance(error, (stripe.AuthenticationError, stripe.PermissionError)):
        return ProviderError(
            message, kind=ProviderError.CONFIGURATION, code=code or "stripe_credentials"
        )
    if isinstance(error, stripe.RateLimitError):
        retry_after = _header(error, "Retry-After")
        return ProviderError(
            message,
            kind=ProviderError.UNKNOWN,
            code="rate_limited",
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )
    if isinstance(error, stripe.APIConnectionError):
        return ProviderError(message, kind=ProviderError.UNKNOWN, code="connection")
    if isinstance(error, (stripe.InvalidRequestError, stripe.CardError)):
        return ProviderError(
            str(REFUSALS.get(code, message)), kind=ProviderError.REFUSED, code=code or "refused"
        )
    if status == 409:
        return ProviderError(message, kind=ProviderError.UNKNOWN, code="in_progress")
    replayed = _header(error, "Idempotent-Replayed").lower() == "true"
    return ProviderError(
        message,
        kind=ProviderError.UNKNOWN,
        code=f"api_error_{status}" if status else "api_error",
        settled=replayed,
    )


class StripeProvider(PaymentProvider):
    identifier = "stripe"
    verbose_name = gettext_lazy("Stripe Connect transfer")

    def __init__(self, client: stripe.StripeClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is not None:
            return self._client
        try:
            return stripe_client()
        except StripeNotConfigured as exc:
            raise ProviderError(
                _("Stripe is not configured on this server."),
                kind=ProviderError.CONFIGURATION,
                code="stripe_not_configured",
            ) from exc

    def prepare(
        self, payment: Payment, attempt_number: int, *, account: StripeAccount | None = None
    ) -> dict[str, Any]:
        if account is None:
            account = StripeAccount.objects.filter(consultant_id=payment.consultant_id).first()
        if account is None:
            raise ProviderError(
                _("The consultant has no Stripe account yet."),
                kind=ProviderError.REFUSED,
                code="account_missing",
            )
        return transfer_params(
            amount=payment.amount,
            currency=payment.currency,
            destination=account.account_id,
            group=str(payment.public_id),
            attempt_number=attempt_number,
        )

    def execute(self, payment: Payment, attempt: PaymentAttempt) -> Executed:
        return self.send_transfer(attempt.request, idempotency_key=attempt.idempotency_key)

    def send_transfer(self, request: dict[str, Any], *, idempotency_key: str) -> Executed:
        """Create the transfer ``transfer_params`` described, under ``idempotency_key``;
        what Stripe answers is checked against the request."""
        request = canonical(request)
        try:
            transfer = self.client.v1.transfers.create(
                # The stored request is the one ``prepare`` built: a transfer's parameters.
                params=cast("TransferCreateParams", request),
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        if (
            transfer.transfer_group != request["transfer_group"]
            or transfer.amount != request["amount"]
            or str(transfer.currency).lower() != request["currency"]
            or transfer.destination != request["destination"]
        ):
            # Something was created under this key: never treated as "nothing exists".
            raise ProviderError(
                _("Stripe answered with a transfer that does not match the request."),
                kind=ProviderError.BUG,
                code="transfer_mismatch",
                reference=str(transfer.id or ""),
            )
        headers = getattr(getattr(transfer, "last_response", None), "headers", None) or {}
        replayed = str(headers.get("Idempotent-Replayed", "")).lower() == "true"
        return Executed(reference=transfer.id, replayed=replayed)

    def find_existing(self, payment: Payment) -> list[Existing]:
        return self.transfers_in_group(str(payment.public_id))

    def transfers_in_group(self, group: str) -> list[Existing]:
        """Every transfer Stripe holds with this ``transfer_group``."""
        try:
            page = self.client.v1.transfers.list(params={"transfer_group": group, "limit": 100})
            transfers = list(page.auto_paging_iter())
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return [existing(t) for t in transfers]

    def available_balance(self) -> dict[str, dict[str, Decimal]]:
        """The platform's available Stripe balance: currency (upper case) -> source type
        -> amount. One read, outside any transaction."""
        try:
            balance = self.client.v1.balance.retrieve().to_dict()
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return balance_news(balance)

    def topup(
        self, amount: Decimal, currency: str, *, description: str, idempotency_key: str
    ) -> str:
        """Add ``amount`` to the platform's bank_account balance from its bank (a top-up;
        in test mode it succeeds at once). Only ``manage.py stripe_smoke`` uses it."""
        try:
            topup = self.client.v1.topups.create(
                params={
                    "amount": to_cents(amount, currency),
                    "currency": currency.lower(),
                    "description": description,
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return str(topup.id)

    def reverse(self, payment: Payment) -> str:
        """Reverse the whole transfer, unless Stripe shows it is reversed already.

        The key is the payment's own, so a call whose answer was lost is replayed, not
        repeated; after a refusal (stored by Stripe under that key) the next try uses
        a new one. Either way a transfer is never reversed for more than it carried.
        """
        if not payment.transfer_id:
            raise ProviderError(
                _("This payment has no Stripe transfer to reverse."),
                kind=ProviderError.REFUSED,
                code="no_transfer",
            )
        try:
            transfer = self.client.v1.transfers.retrieve(payment.transfer_id).to_dict()
            if transfer.get("reversed"):
                done = (transfer.get("reversals") or {}).get("data") or []
                return str(done[0]["id"]) if done else payment.transfer_id
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        key = f"honora-reverse-{payment.public_id}"
        if payment.reversal_refusals:
            key = f"{key}-{payment.reversal_refusals}"
        return self.reverse_transfer(
            payment.transfer_id, group=str(payment.public_id), idempotency_key=key
        )

    def reverse_transfer(self, transfer_id: str, *, group: str, idempotency_key: str) -> str:
        """Reverse all of what is left of a transfer; the reversal's id."""
        try:
            reversal = self.client.v1.transfers.reversals.create(
                transfer_id,
                params={"metadata": {"honora_payment": group}},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return reversal.id

    def create_account(self, *, params: dict[str, Any], idempotency_key: str) -> dict:
        """A new connected account from ``params`` (``payments.stripe.accounts.
        stripe_account_params``: the agreement the countries call for); Stripe's object."""
        try:
            account = self.client.v1.accounts.create(
                params=cast("AccountCreateParams", params),
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return account.to_dict()

    def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        """A fresh single-use Express onboarding link for the account."""
        try:
            link = self.client.v1.account_links.create(
                params={
                    "account": account_id,
                    "type": "account_onboarding",
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                }
            )
        except stripe.StripeError as exc:
            raise translate(exc) from exc
        return str(link.url)

    def retrieve_account(self, account_id: str) -> dict[str, Any]:
        try:
            return self.client.v1.accounts.retrieve(account_id).to_dict()
        except stripe.StripeError as exc:
            raise translate(exc) from exc


def transfer_params(
    *, amount: Decimal, currency: str, destination: str, group: str, attempt_number: int
) -> dict[str, Any]:
    """A transfer's parameters (what an attempt stores and sends under its key)."""
    return canonical(
        {
            "amount": to_cents(amount, currency),
            "currency": currency.lower(),
            "destination": destination,
            "transfer_group": group,
            # Which of the platform's balances pays (Stripe draws from "card" unless
            # told): the one the organisation funds (STRIPE_TRANSFER_SOURCE_TYPE).
            "source_type": settings.STRIPE_TRANSFER_SOURCE_TYPE,
            # Ids only: never a name or anything else about the person.
            "metadata": {"honora_payment": group, "honora_attempt": str(attempt_number)},
        }
    )


def balance_news(balance: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    """Stripe's balance object's ``available`` part, in decimals per source type."""
    found: dict[str, dict[str, Decimal]] = {}
    for entry in balance.get("available") or []:
        currency = str(entry.get("currency") or "").upper()
        types = entry.get("source_types") or {}
        pool = found.setdefault(currency, {})
        for source_type, cents in types.items():
            pool[str(source_type)] = pool.get(str(source_type), Decimal("0.00")) + from_cents(
                int(cents or 0)
            )
    return found


def existing(transfer: stripe.Transfer | dict[str, Any]) -> Existing:
    if hasattr(transfer, "to_dict"):
        transfer = transfer.to_dict()
    amount_reversed = transfer.get("amount_reversed") or 0
    return Existing(
        reference=transfer["id"],
        amount=from_cents(transfer["amount"]),
        currency=str(transfer["currency"]).upper(),
        destination=transfer["destination"],
        live=not transfer.get("reversed") and amount_reversed < transfer["amount"],
        metadata=dict(transfer.get("metadata") or {}),
    )


@dataclass(frozen=True)
class TransferNews:
    """What a Stripe transfer object (from an event) says, amounts in decimals."""

    id: str
    amount: Decimal
    amount_reversed: Decimal
    reversed: bool
    currency: str
    destination: str
    transfer_group: str
    honora_payment: str  # the payment's public id, from the metadata
    attempt_number: int | None  # the attempt whose key made it, from the metadata

    @property
    def fully_reversed(self) -> bool:
        return self.reversed or self.amount_reversed >= self.amount


def transfer_news(transfer: dict[str, Any]) -> TransferNews:
    metadata = transfer.get("metadata") or {}
    attempt = metadata.get("honora_attempt")
    return TransferNews(
        id=str(transfer.get("id") or ""),
        amount=from_cents(int(transfer.get("amount") or 0)),
        amount_reversed=from_cents(int(transfer.get("amount_reversed") or 0)),
        reversed=bool(transfer.get("reversed")),
        currency=str(transfer.get("currency") or ""),
        destination=str(transfer.get("destination") or ""),
        transfer_group=str(transfer.get("transfer_group") or ""),
        honora_payment=str(metadata.get("honora_payment") or ""),
        attempt_number=int(str(attempt)) if str(attempt or "").isdigit() else None,
    )


@dataclass(frozen=True)
class PayoutNews:
    """What a Stripe payout object (a connected account's bank payout) says."""

    id: str
    amount: Decimal
    created: int  # a Unix timestamp, as Stripe gives it
    failure_code: str


def payout_news(payout: dict[str, Any]) -> PayoutNews:
    return PayoutNews(
        id=str(payout.get("id") or ""),
        amount=from_cents(int(payout.get("amount") or 0)),
        created=int(payout.get("created") or 0),
        failure_code=str(payout.get("failure_code") or ""),
    )
