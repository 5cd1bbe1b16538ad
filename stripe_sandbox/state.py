"""The sandbox's in-memory Stripe: accounts, links, transfers, payouts, balances, events.

Every endpoint handler checks its parameters first and then calls ``ctx.begin()``: errors
raised before that are validation errors (never stored under the idempotency key); from
``begin()`` on the endpoint has started work and its response, error or not, is stored.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import SandboxClock
from .errors import (
    ApiError,
    check_known,
    get_bool,
    get_currency,
    get_id,
    get_int,
    get_list_limit,
    get_metadata,
    get_str,
    get_url,
    invalid,
    missing,
)
from .faults import FaultRule

LINK_TTL_SECONDS = 300

# What a fresh Express account still owes before it can be paid.
INITIAL_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.address.state",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.ssn_last_4",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]

PAYOUT_FAILURES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or "
    "the number, of payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The bank account number appears to be invalid (e.g., it has "
    "too many digits, or is not numeric).",
    "invalid_currency": "The bank was unable to process this payout because of its currency.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class RequestContext:
    """One API request as the handlers see it."""

    method: str
    path: str
    api_key: str
    account: str | None
    idempotency_key: str | None
    request_id: str
    fault: FaultRule | None = None
    begin: Callable[[], None] = field(default=lambda: None)
    started: bool = False

    def fault_is(self, kind: str) -> bool:
        return self.fault is not None and self.fault.kind == kind


class SandboxState:
    def __init__(
        self,
        *,
        clock: SandboxClock,
        emit: Callable[[dict[str, Any]], None],
        count_targets: Callable[[dict[str, Any]], int],
        base_url: Callable[[], str],
        balance: int = 10_000_000,
        currency: str = "usd",
        api_version: str = "2026-10-28.endive",
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._emit_hook = emit
        self._count_targets = count_targets
        self._base_url = base_url
        self.api_version = api_version
        self._initial_balance = (balance, currency)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            amount, currency = self._initial_balance
            self.accounts: dict[str, dict[str, Any]] = {}
            self.links: dict[str, dict[str, Any]] = {}
            self.transfers: dict[str, dict[str, Any]] = {}
            self.payouts: dict[str, dict[str, Any]] = {}
            self.payout_account: dict[str, str] = {}
            self.events: list[dict[str, Any]] = []
            self.platform_balance: dict[str, int] = {currency: amount}
            self.account_balance: dict[str, dict[str, int]] = {}

    _SNAPSHOT_FIELDS = (
        "accounts",
        "links",
        "transfers",
        "payouts",
        "payout_account",
        "events",
        "platform_balance",
        "account_balance",
    )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy({name: getattr(self, name) for name in self._SNAPSHOT_FIELDS})

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.reset()
            for name in self._SNAPSHOT_FIELDS:
                if name in data:
                    setattr(self, name, copy.deepcopy(data[name]))

    # -- helpers -----------------------------------------------------------------------

    def _now(self) -> int:
        return self.clock.timestamp()

    def emit(
        self,
        type_: str,
        obj: dict[str, Any],
        *,
        account: str | None = None,
        previous: dict[str, Any] | None = None,
        ctx: RequestContext | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event: dict[str, Any] = {"id": new_id("evt"), "object": "event"}
        if account is not None:
            event["account"] = account
        event.update(
            {
                "api_version": self.api_version,
                "created": self._now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 0,
                "request": {
                    "id": ctx.request_id if ctx else None,
                    "idempotency_key": ctx.idempotency_key if ctx else None,
                },
                "type": type_,
            }
        )
        with self.lock:
            event["pending_webhooks"] = self._count_targets(event)
            self.events.append(event)
            self._emit_hook(copy.deepcopy(event))
        return event

    def _account(self, account_id: str | None, *, param: str | None = "id") -> dict[str, Any]:
        acct = self.accounts.get(account_id or "")
        if acct is None:
            if param == "destination":
                raise missing("destination", account_id or "", param=param)
            raise missing("account", account_id or "", param=param)
        return acct

    def _transfer(self, transfer_id: str) -> dict[str, Any]:
        transfer = self.transfers.get(transfer_id)
        if transfer is None:
            raise missing("transfer", transfer_id)
        return transfer

    def _payout(self, payout_id: str, account: str | None) -> dict[str, Any]:
        payout = self.payouts.get(payout_id)
        if payout is None or self.payout_account.get(payout_id) != account:
            raise missing("payout", payout_id)
        return payout

    def _credit(self, balances: dict[str, int], currency: str, amount: int) -> None:
        balances[currency] = balances.get(currency, 0) + amount

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
        """Stripe's list shape; ``items`` newest first, cursors by id."""
        limit = get_list_limit(params)
        starting_after = get_str(params, "starting_after")
        ending_before = get_str(params, "ending_before")
        ids = [item["id"] for item in items]
        if starting_after:
            if starting_after not in ids:
                raise missing("object", starting_after, param="starting_after")
            rest = items[ids.index(starting_after) + 1 :]
            data, has_more = rest[:limit], len(rest) > limit
        elif ending_before:
            if ending_before not in ids:
                raise missing("object", ending_before, param="ending_before")
            end = ids.index(ending_before)
            data, has_more = items[max(0, end - limit) : end], end > limit
        else:
            data, has_more = items[:limit], len(items) > limit
        return {
            "object": "list",
            "data": copy.deepcopy(data),
            "has_more": has_more,
            "url": url,
        }

    @staticmethod
    def _created_filter(params: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
        created = params.get("created")
        if created is None:
            return lambda _item: True
        if isinstance(created, str):
            exact = get_int(params, "created")
            return lambda item: item["created"] == exact
        if not isinstance(created, dict):
            raise invalid("Invalid created filter", param="created")
        bounds = {}
        for op in ("gt", "gte", "lt", "lte"):
            value = get_int(created, op)
            if value is not None:
                bounds[op] = value
        unknown = set(created) - set(bounds)
        if unknown:
            raise invalid(f"Received unknown parameter: created[{unknown.pop()}]", param="created")

        def keep(item: dict[str, Any]) -> bool:
            c = item["created"]
            return (
                c > bounds.get("gt", c - 1)
                and c >= bounds.get("gte", c)
                and c < bounds.get("lt", c + 1)
                and c <= bounds.get("lte", c)
            )

        return keep

    # -- accounts ----------------------------------------------------------------------

    def build_account(
        self,
        *,
        type_: str = "express",
        country: str = "US",
        email: str | None = None,
        metadata: dict[str, str] | None = None,
        capabilities: list[str] | None = None,
        service_agreement: str | None = None,
        business_type: str | None = None,
    ) -> dict[str, Any]:
        acct_id = new_id("acct", 16)
        return {
            "id": acct_id,
            "object": "account",
            "business_profile": {"mcc": None, "name": None, "url": None},
            "business_type": business_type,
            "capabilities": {name: "inactive" for name in (capabilities or ["transfers"])},
            "charges_enabled": False,
            "controller": {
                "fees": {"payer": "application"},
                "is_controller": True,
                "losses": {"payments": "application"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"},
                "type": "application",
            },
            "country": country,
            "created": self._now(),
            "default_currency": "usd",
            "details_submitted": False,
            "email": email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/accounts/{acct_id}/external_accounts",
            },
            "future_requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": [],
                "disabled_reason": None,
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            "livemode": False,
            "metadata": metadata or {},
            "payouts_enabled": False,
            "requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": list(INITIAL_REQUIREMENTS),
                "disabled_reason": "requirements.past_due",
                "errors": [],
                "eventually_due": list(INITIAL_REQUIREMENTS),
                "past_due": list(INITIAL_REQUIREMENTS),
                "pending_verification": [],
            },
            "settings": {
                "payouts": {
                    "debit_negative_balances": True,
                    "schedule": {"delay_days": 2, "interval": "daily"},
                    "statement_descriptor": None,
                }
            },
            "tos_acceptance": {"service_agreement": service_agreement or "full"},
            "type": type_,
        }

    def add_account(self, account: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.accounts[account["id"]] = account
            self.account_balance[account["id"]] = {}
            return copy.deepcopy(account)

    def create_account(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "type",
                "country",
                "email",
                "metadata",
                "capabilities",
                "tos_acceptance",
                "business_type",
                "business_profile",
                "controller",
                "settings",
                "default_currency",
            },
        )
        type_ = get_str(params, "type") or "express"
        if type_ not in ("express", "custom", "standard"):
            raise invalid("Invalid type: must be one of express, custom, or standard", param="type")
        country = (get_str(params, "country") or "US").upper()
        email = get_str(params, "email")
        metadata = get_metadata(params)
        requested = []
        caps = params.get("capabilities") or {}
        if not isinstance(caps, dict):
            raise invalid("Invalid object", param="capabilities")
        for name, spec in caps.items():
            if not isinstance(spec, dict) or set(spec) - {"requested"}:
                raise invalid("Invalid object", param=f"capabilities[{name}]")
            if get_bool(spec, "requested"):
                requested.append(name)
        tos = params.get("tos_acceptance") or {}
        if not isinstance(tos, dict):
            raise invalid("Invalid object", param="tos_acceptance")
        agreement = get_str(tos, "service_agreement")
        if agreement not in (None, "full", "recipient"):
            raise invalid(
                "Invalid tos_acceptance[service_agreement]: must be one of full or recipient",
                param="tos_acceptance[service_agreement]",
            )
        business_type = get_str(params, "business_type")
        ctx.begin()
        account = self.build_account(
            type_=type_,
            country=country,
            email=email,
            metadata=metadata,
            capabilities=requested or ["transfers"],
            service_agreement=agreement,
            business_type=business_type,
        )
        return self.add_account(account)

    def list_accounts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, {"limit", "starting_after", "ending_before", "created"})
        keep = self._created_filter(params)
        with self.lock:
            items = [a for a in reversed(self.accounts.values()) if keep(a)]
            return self._page(items, params, "/v1/accounts")

    def retrieve_account(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        with self.lock:
            return copy.deepcopy(self._account(id))

    def update_account(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, {"email", "metadata", "business_profile", "settings"})
        email = get_str(params, "email")
        metadata = get_metadata(params)
        ctx.begin()
        with self.lock:
            acct = self._account(id)
            previous: dict[str, Any] = {}
            if email is not None and email != acct["email"]:
                previous["email"] = acct["email"]
                acct["email"] = email
            if metadata is not None:
                previous["metadata"] = copy.deepcopy(acct["metadata"])
                _merge_metadata(acct["metadata"], metadata)
            if previous:
                self.emit("account.updated", acct, account=id, previous=previous, ctx=ctx)
            return copy.deepcopy(acct)

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """What finishing the hosted onboarding does: the account can be paid and paid out."""
        with self.lock:
            acct = self._account(account_id)
            previous = {
                "capabilities": copy.deepcopy(acct["capabilities"]),
                "charges_enabled": acct["charges_enabled"],
                "details_submitted": acct["details_submitted"],
                "payouts_enabled": acct["payouts_enabled"],
                "requirements": copy.deepcopy(acct["requirements"]),
            }
            acct["capabilities"] = {name: "active" for name in acct["capabilities"]}
            acct["charges_enabled"] = "card_payments" in acct["capabilities"]
            acct["details_submitted"] = True
            acct["payouts_enabled"] = True
            acct["requirements"].update(
                currently_due=[], eventually_due=[], past_due=[], disabled_reason=None, errors=[]
            )
            acct["tos_acceptance"].update(date=self._now(), ip="127.0.0.1")
            if not acct["external_accounts"]["data"]:
                acct["external_accounts"]["data"].append(
                    {
                        "id": new_id("ba"),
                        "object": "bank_account",
                        "account": account_id,
                        "account_holder_type": "individual",
                        "bank_name": "STRIPE TEST BANK",
                        "country": acct["country"],
                        "currency": acct["default_currency"],
                        "default_for_currency": True,
                        "last4": "6789",
                        "routing_number": "110000000",
                        "status": "new",
                    }
                )
                acct["external_accounts"]["total_count"] = 1
            self.emit("account.updated", acct, account=account_id, previous=previous)
            return copy.deepcopy(acct)

    def restrict_account(
        self, account_id: str, *, requirement: str = "individual.verification.document"
    ) -> dict[str, Any]:
        """The account can no longer receive transfers or payouts until it provides more."""
        with self.lock:
            acct = self._account(account_id)
            previous = {
                "capabilities": copy.deepcopy(acct["capabilities"]),
                "payouts_enabled": acct["payouts_enabled"],
                "requirements": copy.deepcopy(acct["requirements"]),
            }
            acct["capabilities"] = {name: "inactive" for name in acct["capabilities"]}
            acct["payouts_enabled"] = False
            acct["requirements"].update(
                currently_due=[requirement],
                eventually_due=[requirement],
                past_due=[requirement],
                disabled_reason="requirements.past_due",
            )
            self.emit("account.updated", acct, account=account_id, previous=previous)
            return copy.deepcopy(acct)

    # -- account links and hosted onboarding -------------------------------------------

    def create_account_link(self, ctx: RequestContext, params: dict[str, Any]) -> dict:
        check_known(
            params,
            {"account", "type", "refresh_url", "return_url", "collect", "collection_options"},
        )
        account_id = get_id(params, "account", "acct_")
        type_ = get_str(params, "type", required=True)
        if type_ not in ("account_onboarding", "account_update"):
            raise invalid(
                "Invalid type: must be one of account_onboarding or account_update", param="type"
            )
        refresh_url = get_url(params, "refresh_url")
        return_url = get_url(params, "return_url")
        ctx.begin()
        with self.lock:
            self._account(account_id, param="account")
            token = secrets.token_urlsafe(24)
            created = self._now()
            link = {
                "object": "account_link",
                "created": created,
                "expires_at": created + LINK_TTL_SECONDS,
                "url": f"{self._base_url()}/onboarding/{token}",
            }
            self.links[token] = {
                "account": account_id,
                "type": type_,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "expires_at": created + LINK_TTL_SECONDS,
                "visited": False,
                "completed": False,
            }
            return link

    def visit_link(self, token: str) -> tuple[str, dict[str, Any] | None]:
        """First visit opens the onboarding session; any later or late visit is refused.

        Returns ("open", link), ("refresh", link) or ("unknown", None).
        """
        with self.lock:
            link = self.links.get(token)
            if link is None:
                return "unknown", None
            if link["visited"] or self._now() >= link["expires_at"]:
                return "refresh", dict(link)
            link["visited"] = True
            return "open", dict(link)

    def finish_link(self, token: str, *, complete: bool) -> tuple[str, dict[str, Any] | None]:
        """The onboarding session's form posts here; ends at the link's return_url."""
        with self.lock:
            link = self.links.get(token)
            if link is None:
                return "unknown", None
            if not link["visited"]:
                return "refresh", dict(link)
            if complete and not link["completed"]:
                link["completed"] = True
                self.complete_onboarding(link["account"])
            return "return", dict(link)

    # -- balance -----------------------------------------------------------------------

    def set_balance(self, amount: int, currency: str = "usd", account: str | None = None) -> None:
        with self.lock:
            if account is None:
                self.platform_balance[currency] = amount
            else:
                self._account(account)
                self.account_balance[account][currency] = amount

    def balance_of(self, currency: str = "usd", account: str | None = None) -> int:
        with self.lock:
            balances = self.platform_balance if account is None else self.account_balance[account]
            return balances.get(currency, 0)

    def retrieve_balance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, set())
        with self.lock:
            balances = (
                self.platform_balance
                if ctx.account is None
                else self.account_balance.get(ctx.account, {})
            )
            currencies = sorted(balances) or ["usd"]
            return {
                "object": "balance",
                "available": [
                    {
                        "amount": balances.get(c, 0),
                        "currency": c,
                        "source_types": {"card": balances.get(c, 0)},
                    }
                    for c in currencies
                ],
                "livemode": False,
                "pending": [
                    {"amount": 0, "currency": c, "source_types": {"card": 0}} for c in currencies
                ],
            }

    # -- transfers ---------------------------------------------------------------------

    def create_transfer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "amount",
                "currency",
                "destination",
                "transfer_group",
                "metadata",
                "description",
                "source_transaction",
                "source_type",
            },
        )
        amount = get_int(params, "amount", required=True, minimum=1)
        currency = get_currency(params)
        destination = get_id(params, "destination", "acct_")
        transfer_group = get_str(params, "transfer_group")
        metadata = {k: v for k, v in (get_metadata(params) or {}).items() if v}
        description = get_str(params, "description")
        source_type = get_str(params, "source_type") or "card"
        ctx.begin()
        with self.lock:
            acct = self._account(destination, param="destination")
            if ctx.fault_is("cannot_receive") or acct["capabilities"].get("transfers") != "active":
                raise ApiError(
                    400,
                    "Your destination account needs to have at least one of the following "
                    "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                    code="insufficient_capabilities_for_transfer",
                    param="destination",
                )
            if ctx.fault_is("balance_insufficient") or self.platform_balance.get(currency, 0) < (
                amount or 0
            ):
                raise ApiError(
                    400,
                    "You have insufficient available funds in your Stripe account. Try adding "
                    "funds directly to your available balance by creating Charges using the "
                    "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
                    code="balance_insufficient",
                )
            transfer_id = new_id("tr")
            transfer = {
                "id": transfer_id,
                "object": "transfer",
                "amount": amount,
                "amount_reversed": 0,
                "balance_transaction": new_id("txn"),
                "created": self._now(),
                "currency": currency,
                "description": description,
                "destination": destination,
                "destination_payment": new_id("py"),
                "livemode": False,
                "metadata": metadata,
                "reversals": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": f"/v1/transfers/{transfer_id}/reversals",
                },
                "reversed": False,
                "source_transaction": None,
                "source_type": source_type,
                "transfer_group": transfer_group,
            }
            self.transfers[transfer_id] = transfer
            self._credit(self.platform_balance, currency, -amount)
            self._credit(self.account_balance[destination], currency, amount)
            self.emit("transfer.created", transfer, ctx=ctx)
            return copy.deepcopy(transfer)

    def list_transfers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "transfer_group",
                "destination",
                "limit",
                "starting_after",
                "ending_before",
                "created",
            },
        )
        group = get_str(params, "transfer_group")
        destination = get_str(params, "destination")
        keep = self._created_filter(params)
        with self.lock:
            items = [
                t
                for t in reversed(self.transfers.values())
                if (group is None or t["transfer_group"] == group)
                and (destination is None or t["destination"] == destination)
                and keep(t)
            ]
            return self._page(items, params, "/v1/transfers")

    def retrieve_transfer(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        with self.lock:
            return copy.deepcopy(self._transfer(id))

    def update_transfer(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, {"description", "metadata"})
        description = get_str(params, "description")
        metadata = get_metadata(params)
        ctx.begin()
        with self.lock:
            transfer = self._transfer(id)
            previous: dict[str, Any] = {}
            if description is not None:
                previous["description"] = transfer["description"]
                transfer["description"] = description
            if metadata is not None:
                previous["metadata"] = copy.deepcopy(transfer["metadata"])
                _merge_metadata(transfer["metadata"], metadata)
            if previous:
                self.emit("transfer.updated", transfer, previous=previous, ctx=ctx)
            return copy.deepcopy(transfer)

    def create_reversal(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, {"amount", "description", "metadata", "refund_application_fee"})
        amount = get_int(params, "amount", minimum=1)
        description = get_str(params, "description")
        metadata = get_metadata(params) or {}
        get_bool(params, "refund_application_fee")
        ctx.begin()
        with self.lock:
            transfer = self._transfer(id)
            if ctx.fault_is("balance_insufficient"):
                # The connected account no longer holds the money (stored under the key).
                raise ApiError(
                    400,
                    "The connected account has insufficient funds to cover this reversal.",
                    code="balance_insufficient",
                )
            remaining = transfer["amount"] - transfer["amount_reversed"]
            if remaining <= 0:
                raise invalid(f"Transfer {id} has already been fully reversed.")
            if amount is None:
                amount = remaining
            if amount > remaining:
                raise invalid(
                    f"Attempted to reverse {amount} but only {remaining} remains on transfer {id}.",
                    param="amount",
                )
            previous = {
                "amount_reversed": transfer["amount_reversed"],
                "reversed": transfer["reversed"],
            }
            reversal = {
                "id": new_id("trr"),
                "object": "transfer_reversal",
                "amount": amount,
                "balance_transaction": new_id("txn"),
                "created": self._now(),
                "currency": transfer["currency"],
                "description": description,
                "destination_payment_refund": new_id("pyr"),
                "metadata": metadata,
                "source_refund": None,
                "transfer": id,
            }
            transfer["amount_reversed"] += amount
            transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
            transfer["reversals"]["data"].insert(0, reversal)
            transfer["reversals"]["total_count"] += 1
            currency = transfer["currency"]
            self._credit(self.platform_balance, currency, amount)
            self._credit(self.account_balance[transfer["destination"]], currency, -amount)
            self.emit("transfer.reversed", transfer, previous=previous, ctx=ctx)
            return copy.deepcopy(reversal)

    def list_reversals(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, {"limit", "starting_after", "ending_before"})
        with self.lock:
            transfer = self._transfer(id)
            return self._page(
                transfer["reversals"]["data"], params, f"/v1/transfers/{id}/reversals"
            )

    def retrieve_reversal(
        self, ctx: RequestContext, params: dict[str, Any], id: str, reversal_id: str
    ) -> dict[str, Any]:
        check_known(params, set())
        with self.lock:
            for reversal in self._transfer(id)["reversals"]["data"]:
                if reversal["id"] == reversal_id:
                    return copy.deepcopy(reversal)
            raise missing("transfer_reversal", reversal_id)

    def dump_transfers(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.transfers.values()))

    # -- payouts (on connected accounts) -----------------------------------------------

    def _new_payout(
        self, account_id: str, amount: int, currency: str, *, automatic: bool, **extra: Any
    ) -> dict[str, Any]:
        acct = self.accounts[account_id]
        bank = acct["external_accounts"]["data"]
        now = self._now()
        payout = {
            "id": new_id("po"),
            "object": "payout",
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": now + 2 * 86400,
            "automatic": automatic,
            "balance_transaction": new_id("txn"),
            "created": now,
            "currency": currency,
            "description": extra.get("description"),
            "destination": bank[0]["id"] if bank else None,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": extra.get("metadata") or {},
            "method": extra.get("method") or "standard",
            "original_payout": None,
            "reconciliation_status": "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": extra.get("statement_descriptor"),
            "status": "pending",
            "type": "bank_account",
        }
        self.payouts[payout["id"]] = payout
        self.payout_account[payout["id"]] = account_id
        self._credit(self.account_balance[account_id], currency, -amount)
        return payout

    def create_payout(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "amount",
                "currency",
                "description",
                "metadata",
                "method",
                "statement_descriptor",
                "destination",
                "source_type",
            },
        )
        if ctx.account is None:
            raise invalid(
                "The sandbox makes payouts only on connected accounts: send the Stripe-Account "
                "header."
            )
        amount = get_int(params, "amount", required=True, minimum=1)
        currency = get_currency(params)
        method = get_str(params, "method") or "standard"
        if method not in ("standard", "instant"):
            raise invalid("Invalid method: must be one of standard or instant", param="method")
        extra = {
            "description": get_str(params, "description"),
            "metadata": get_metadata(params),
            "method": method,
            "statement_descriptor": get_str(params, "statement_descriptor", max_length=22),
        }
        ctx.begin()
        with self.lock:
            acct = self._account(ctx.account)
            if not acct["payouts_enabled"]:
                raise invalid(
                    "Payouts are not enabled for this account.", code="payouts_not_allowed"
                )
            if self.account_balance[ctx.account].get(currency, 0) < (amount or 0):
                raise invalid(
                    "You have insufficient funds in your Stripe account for this transfer. "
                    "Your card balance is too low.",
                    code="balance_insufficient",
                )
            payout = self._new_payout(ctx.account, amount or 0, currency, automatic=False, **extra)
            self.emit("payout.created", payout, account=ctx.account, ctx=ctx)
            return copy.deepcopy(payout)

    def list_payouts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "status",
                "destination",
                "limit",
                "starting_after",
                "ending_before",
                "created",
                "arrival_date",
            },
        )
        status = get_str(params, "status")
        keep = self._created_filter(params)
        with self.lock:
            items = [
                p
                for pid, p in reversed(self.payouts.items())
                if self.payout_account.get(pid) == ctx.account
                and (status is None or p["status"] == status)
                and keep(p)
            ]
            return self._page(items, params, "/v1/payouts")

    def retrieve_payout(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        with self.lock:
            return copy.deepcopy(self._payout(id, ctx.account))

    def cancel_payout(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        ctx.begin()
        with self.lock:
            payout = self._payout(id, ctx.account)
            if payout["status"] != "pending":
                raise invalid(
                    f"Payouts can only be canceled while they are pending; this one is "
                    f"{payout['status']}.",
                    code="payout_not_cancelable",
                )
            return self.move_payout(id, "canceled", ctx=ctx)

    def add_payout(self, account_id: str, amount: int, currency: str = "usd") -> dict[str, Any]:
        """Stand in for an automatic payout of the account's balance (no balance check)."""
        if amount <= 0:
            raise ValueError("amount is positive integer cents")
        with self.lock:
            self._account(account_id)
            payout = self._new_payout(account_id, amount, currency, automatic=True)
            self.emit("payout.created", payout, account=account_id)
            return copy.deepcopy(payout)

    def move_payout(
        self,
        payout_id: str,
        status: str,
        *,
        failure_code: str = "account_closed",
        ctx: RequestContext | None = None,
    ) -> dict[str, Any]:
        """pending → in_transit → paid; → failed (even after paid); pending → canceled.

        ``paid_then_failed`` does both steps, each with its event.
        """
        with self.lock:
            payout = self.payouts.get(payout_id)
            if payout is None:
                raise KeyError(payout_id)
            account = self.payout_account[payout_id]
            if status == "paid_then_failed":
                self.move_payout(payout_id, "paid")
                return self.move_payout(payout_id, "failed", failure_code=failure_code)
            allowed = {
                "in_transit": {"pending"},
                "paid": {"pending", "in_transit"},
                "failed": {"pending", "in_transit", "paid"},
                "canceled": {"pending"},
            }
            if status not in allowed:
                raise ValueError(f"unknown payout status {status!r}")
            if payout["status"] not in allowed[status]:
                raise ValueError(f"a {payout['status']} payout cannot become {status}")
            previous = {"status": payout["status"]}
            payout["status"] = status
            if status in ("failed", "canceled"):
                # the money comes back to the connected account's balance
                self._credit(self.account_balance[account], payout["currency"], payout["amount"])
            if status == "failed":
                if failure_code not in PAYOUT_FAILURES:
                    raise ValueError(f"unknown failure code {failure_code!r}")
                previous.update(failure_code=None, failure_message=None)
                payout["failure_code"] = failure_code
                payout["failure_message"] = PAYOUT_FAILURES[failure_code]
                payout["failure_balance_transaction"] = new_id("txn")
            event = "payout.updated" if status == "in_transit" else f"payout.{status}"
            self.emit(event, payout, account=account, previous=previous, ctx=ctx)
            return copy.deepcopy(payout)

    # -- events ------------------------------------------------------------------------

    def list_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "type",
                "types",
                "limit",
                "starting_after",
                "ending_before",
                "created",
                "delivery_success",
            },
        )
        type_ = get_str(params, "type")
        types = params.get("types")
        if types is not None and not isinstance(types, list):
            raise invalid("Invalid array", param="types")
        keep = self._created_filter(params)

        def wanted(event: dict[str, Any]) -> bool:
            if type_ is not None:
                if type_.endswith("*"):
                    if not event["type"].startswith(type_[:-1]):
                        return False
                elif event["type"] != type_:
                    return False
            return types is None or event["type"] in types

        with self.lock:
            items = [
                e
                for e in reversed(self.events)
                if e.get("account") == ctx.account and wanted(e) and keep(e)
            ]
            return self._page(items, params, "/v1/events")

    def retrieve_event(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        with self.lock:
            for event in self.events:
                if event["id"] == id and event.get("account") == ctx.account:
                    return copy.deepcopy(event)
            raise missing("event", id)


def _merge_metadata(target: dict[str, str], update: dict[str, str]) -> None:
    if not update:  # metadata="" clears every key
        target.clear()
    for key, value in update.items():
        if value == "":
            target.pop(key, None)
        else:
            target[key] = value
