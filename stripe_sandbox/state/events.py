"""The events list, as Stripe's ``/v1/events`` serves it."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import (
    check_known,
    get_str,
    invalid,
    missing,
)
from .base import RequestContext, StateBase


class EventsMixin(StateBase):
    """Events."""

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
