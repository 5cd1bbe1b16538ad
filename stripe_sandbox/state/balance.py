"""Platform and connected-account balances, kept per currency and per source type, and
top-ups (how a platform adds money to its balance from its bank account)."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import (
    check_known,
    get_currency,
    get_int,
    get_metadata,
    get_str,
    missing,
)
from .base import SOURCE_TYPES, Balances, RequestContext, StateBase, new_id


class BalanceMixin(StateBase):
    """Balances and top-ups."""

    def _balances_of(self, account: str | None) -> Balances:
        if account is None:
            return self.platform_balance
        self._account(account)
        return self.account_balance.setdefault(account, {})

    def set_balance(
        self,
        amount: int,
        currency: str = "usd",
        account: str | None = None,
        source_type: str = "bank_account",
    ) -> None:
        """Set one source type's available amount (the others are left as they are)."""
        if source_type not in SOURCE_TYPES:
            raise ValueError(f"source type is one of {', '.join(SOURCE_TYPES)}")
        with self.lock:
            self._balances_of(account).setdefault(currency, {})[source_type] = amount

    def balance_of(
        self, currency: str = "usd", account: str | None = None, source_type: str | None = None
    ) -> int:
        """The available amount: of one source type, or of all of them (``None``)."""
        with self.lock:
            balances = self.platform_balance if account is None else self.account_balance[account]
            pool = balances.get(currency, {})
            if source_type is None:
                return sum(pool.values())
            return pool.get(source_type, 0)

    def balance_breakdown(self, account: str | None = None) -> dict[str, dict[str, int]]:
        with self.lock:
            balances = self.platform_balance if account is None else self.account_balance[account]
            return copy.deepcopy(balances)

    def retrieve_balance(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, set())
        with self.lock:
            balances = (
                self.platform_balance
                if ctx.account is None
                else self.account_balance.get(ctx.account, {})
            )
            currencies = sorted(balances) or ["usd"]

            def entry(currency: str, pool: dict[str, int]) -> dict[str, Any]:
                # Stripe lists the source types that hold (or held) money; card always.
                types = {"card": 0, **{t: v for t, v in sorted(pool.items())}}
                return {
                    "amount": sum(types.values()),
                    "currency": currency,
                    "source_types": types,
                }

            return {
                "object": "balance",
                "available": [entry(c, balances.get(c, {})) for c in currencies],
                "livemode": False,
                # Top-ups and transfers settle at once in the sandbox: nothing is pending.
                "pending": [entry(c, {t: 0 for t in balances.get(c, {})}) for c in currencies],
            }

    # -- top-ups -----------------------------------------------------------------------

    def create_topup(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "amount",
                "currency",
                "description",
                "metadata",
                "source",
                "statement_descriptor",
                "transfer_group",
            },
        )
        amount = get_int(params, "amount", required=True, minimum=1) or 0
        currency = get_currency(params)
        description = get_str(params, "description")
        metadata = {k: v for k, v in (get_metadata(params) or {}).items() if v}
        statement_descriptor = get_str(params, "statement_descriptor", max_length=15)
        transfer_group = get_str(params, "transfer_group")
        get_str(params, "source")
        ctx.begin()
        with self.lock:
            now = self._now()
            topup = {
                "id": new_id("tu"),
                "object": "topup",
                "amount": amount,
                "balance_transaction": new_id("txn"),
                "created": now,
                "currency": currency,
                "description": description,
                "expected_availability_date": now,
                "failure_code": None,
                "failure_message": None,
                "livemode": False,
                "metadata": metadata,
                "source": None,
                "statement_descriptor": statement_descriptor,
                "status": "succeeded",
                "transfer_group": transfer_group,
            }
            self.topups[topup["id"]] = topup
            # Test mode: the top-up succeeds at once and its money is bank_account money.
            self._credit(self.platform_balance, currency, amount, "bank_account")
            self.emit("topup.created", topup, ctx=ctx)
            self.emit("topup.succeeded", topup, ctx=ctx)
            return copy.deepcopy(topup)

    def retrieve_topup(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        with self.lock:
            topup = self.topups.get(id)
            if topup is None:
                raise missing("topup", id)
            return copy.deepcopy(topup)

    def list_topups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, {"limit", "starting_after", "ending_before", "created", "status"})
        status = get_str(params, "status")
        keep = self._created_filter(params)
        with self.lock:
            items = [
                t
                for t in reversed(self.topups.values())
                if (status is None or t["status"] == status) and keep(t)
            ]
            return self._page(items, params, "/v1/topups")
