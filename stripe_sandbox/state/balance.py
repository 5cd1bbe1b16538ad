"""Platform and connected-account balances."""

from __future__ import annotations

from typing import Any

from ..errors import (
    check_known,
)
from .base import RequestContext, StateBase


class BalanceMixin(StateBase):
    """Balances."""

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
