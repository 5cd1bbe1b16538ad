"""Payouts on connected accounts, and the controls that move them along."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import (
    check_known,
    get_currency,
    get_int,
    get_metadata,
    get_str,
    invalid,
)
from .base import RequestContext, StateBase, get_source_type, new_id

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


class PayoutsMixin(StateBase):
    """Payouts."""

    def _new_payout(
        self, account_id: str, amount: int, currency: str, *, automatic: bool, **extra: Any
    ) -> dict[str, Any]:
        acct = self.accounts[account_id]
        bank = acct["external_accounts"]["data"]
        balances = self.account_balance.setdefault(account_id, {})
        # An automatic payout (a control) pays out of whichever source type holds most.
        pool = balances.get(currency) or {"card": 0}
        source_type = extra.get("source_type") or max(pool, key=lambda t: pool[t])
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
            "source_type": source_type,
            "statement_descriptor": extra.get("statement_descriptor"),
            "status": "pending",
            "type": "bank_account",
        }
        self.payouts[payout["id"]] = payout
        self.payout_account[payout["id"]] = account_id
        self._credit(balances, currency, -amount, source_type)
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
            # Like a transfer, a payout draws from the card balance unless told otherwise.
            "source_type": get_source_type(params),
        }
        ctx.begin()
        with self.lock:
            acct = self._account(ctx.account)
            if not acct["payouts_enabled"]:
                raise invalid(
                    "Payouts are not enabled for this account.", code="payouts_not_allowed"
                )
            source_type = extra["source_type"]
            balances = self.account_balance.setdefault(ctx.account, {})
            if self._available(balances, currency, source_type) < (amount or 0):
                raise invalid(
                    "You have insufficient funds in your Stripe account for this transfer. "
                    f"Your {source_type.replace('_', ' ')} balance is too low.",
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
                self._credit(
                    self.account_balance.setdefault(account, {}),
                    payout["currency"],
                    payout["amount"],
                    payout.get("source_type") or "card",
                )
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
