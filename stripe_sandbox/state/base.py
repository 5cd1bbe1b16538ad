"""The sandbox's in-memory Stripe: accounts, links, transfers, payouts, balances, events.

Every endpoint handler checks its parameters first and then calls ``ctx.begin()``: errors
raised before that are validation errors (never stored under the idempotency key); from
``begin()`` on the endpoint has started work and its response, error or not, is stored.

This module: ids, the request context, and the state's store and shared helpers; each
resource's endpoints are a mixin beside it, composed into ``SandboxState``.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..clock import SandboxClock
from ..errors import (
    get_int,
    get_list_limit,
    get_str,
    invalid,
    missing,
)
from ..faults import FaultRule

# Stripe keeps a balance per source type of the money in it; a transfer or payout draws
# from ``card`` unless it names another (RULES.md, "Balances and source types").
SOURCE_TYPES = ("card", "bank_account", "fpx")
DEFAULT_DRAW = "card"

# currency -> source type -> cents
Balances = dict[str, dict[str, int]]

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


class StateBase:
    """The store (accounts, links, transfers, payouts, balances, events) and shared helpers."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        emit: Callable[[dict[str, Any]], None],
        count_targets: Callable[[dict[str, Any]], int],
        base_url: Callable[[], str],
        balance: int = 0,
        currency: str = "usd",
        balance_source_type: str = "bank_account",
        api_version: str = "2026-10-28.endive",
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._emit_hook = emit
        self._count_targets = count_targets
        self._base_url = base_url
        self.api_version = api_version
        if balance_source_type not in SOURCE_TYPES:
            raise ValueError(f"source type is one of {', '.join(SOURCE_TYPES)}")
        # Stripe's test mode starts at zero: whoever runs the sandbox funds it.
        self._initial_balance = (balance, currency, balance_source_type)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            amount, currency, source_type = self._initial_balance
            self.accounts: dict[str, dict[str, Any]] = {}
            self.links: dict[str, dict[str, Any]] = {}
            self.transfers: dict[str, dict[str, Any]] = {}
            self.payouts: dict[str, dict[str, Any]] = {}
            self.payout_account: dict[str, str] = {}
            self.topups: dict[str, dict[str, Any]] = {}
            self.events: list[dict[str, Any]] = []
            self.platform_balance: Balances = {currency: {source_type: amount}} if amount else {}
            self.account_balance: dict[str, Balances] = {}

    _SNAPSHOT_FIELDS = (
        "accounts",
        "links",
        "transfers",
        "payouts",
        "payout_account",
        "topups",
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
            # A state file from before balances were kept per source type held one pool
            # per currency: it becomes bank_account money (what Honora draws from).
            self.platform_balance = _per_source(self.platform_balance)
            self.account_balance = {
                acct: _per_source(balances) for acct, balances in self.account_balance.items()
            }

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

    @staticmethod
    def _credit(balances: Balances, currency: str, amount: int, source_type: str) -> None:
        pool = balances.setdefault(currency, {})
        pool[source_type] = pool.get(source_type, 0) + amount

    @staticmethod
    def _available(balances: Balances, currency: str, source_type: str) -> int:
        return balances.get(currency, {}).get(source_type, 0)

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


def _per_source(balances: dict[str, Any]) -> Balances:
    return {
        currency: dict(pool) if isinstance(pool, dict) else {"bank_account": int(pool)}
        for currency, pool in balances.items()
    }


def get_source_type(params: dict[str, Any], name: str = "source_type") -> str:
    """A ``source_type`` parameter: one of Stripe's, ``card`` when absent."""
    value = get_str(params, name)
    if value is None:
        return DEFAULT_DRAW
    if value not in SOURCE_TYPES:
        raise invalid(
            f"Invalid {name}: must be one of {', '.join(SOURCE_TYPES)}",
            param=name,
        )
    return value


def merge_metadata(target: dict[str, str], update: dict[str, str]) -> None:
    if not update:  # metadata="" clears every key
        target.clear()
    for key, value in update.items():
        if value == "":
            target.pop(key, None)
        else:
            target[key] = value
