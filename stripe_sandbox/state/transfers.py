"""Transfers to connected accounts and their reversals."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import (
    ApiError,
    check_known,
    get_bool,
    get_currency,
    get_id,
    get_int,
    get_metadata,
    get_str,
    invalid,
    missing,
)
from .base import RequestContext, StateBase, get_source_type, merge_metadata, new_id


class TransfersMixin(StateBase):
    """Transfers and reversals."""

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
        # Stripe draws from the card balance unless the transfer names another source type.
        source_type = get_source_type(params)
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
            available = self._available(self.platform_balance, currency, source_type)
            if ctx.fault_is("balance_insufficient") or available < (amount or 0):
                # Only the named source type counts: money held as another is not drawn.
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
            self._credit(self.platform_balance, currency, -amount, source_type)
            self._credit(
                self.account_balance.setdefault(destination, {}), currency, amount, source_type
            )
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
                merge_metadata(transfer["metadata"], metadata)
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
            # The money goes back to the source type the transfer drew from.
            source_type = transfer.get("source_type") or "card"
            self._credit(self.platform_balance, currency, amount, source_type)
            self._credit(
                self.account_balance.setdefault(transfer["destination"], {}),
                currency,
                -amount,
                source_type,
            )
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
