"""``/_sandbox/...``: the private JSON control API another process (the demo, a benchmark)
uses to drive faults, webhooks, payouts and the clock; ``SandboxControl`` is its client."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import ApiError
from .faults import FaultPlan, FaultRule
from .state import PAYOUT_FAILURES, SOURCE_TYPES
from .wire import (
    API_VERSION,
    error_body,
)


class ControlRoutes:
    """The ``/_sandbox`` half of ``SandboxServer``."""

    def _build_control_routes(self):
        return [
            (method, re.compile(pattern + r"\Z"), fn)
            for method, pattern, fn in [
                ("GET", r"/_sandbox/health", self._c_health),
                ("GET", r"/_sandbox/state", self._c_state),
                ("POST", r"/_sandbox/reset", self._c_reset),
                ("POST", r"/_sandbox/config", self._c_config),
                ("GET", r"/_sandbox/requests", lambda b, q: {"data": self.requests}),
                ("GET", r"/_sandbox/transfers", self._c_transfers),
                ("GET", r"/_sandbox/transfers/duplicates", lambda b, q: self.duplicate_live_transfers()),
                ("GET", r"/_sandbox/faults", lambda b, q: {"data": [r.as_dict() for r in self.faults.rules]}),
                ("POST", r"/_sandbox/faults", lambda b, q: self._c_add_fault(self.faults, b)),
                ("DELETE", r"/_sandbox/faults", lambda b, q: self._c_clear(self.faults)),
                ("DELETE", r"/_sandbox/faults/(?P<rule_id>[\w-]+)", lambda b, q, rule_id: {"deleted": self.faults.remove(rule_id)}),
                ("POST", r"/_sandbox/faults/(?P<rule_id>[\w-]+)/release", self._c_release_fault),
                ("GET", r"/_sandbox/clock", lambda b, q: self._c_clock()),
                ("POST", r"/_sandbox/clock/advance", self._c_clock_advance),
                ("GET", r"/_sandbox/balance", self._c_get_balance),
                ("POST", r"/_sandbox/balance", self._c_set_balance),
                ("POST", r"/_sandbox/api_keys", self._c_add_api_key),
                ("POST", r"/_sandbox/accounts", self._c_create_account),
                ("POST", r"/_sandbox/accounts/(?P<account_id>acct_\w+)/onboard", lambda b, q, account_id: self.complete_onboarding(account_id)),
                ("POST", r"/_sandbox/accounts/(?P<account_id>acct_\w+)/restrict", lambda b, q, account_id: self.restrict_account(account_id)),
                ("POST", r"/_sandbox/payouts", self._c_create_payout),
                ("POST", r"/_sandbox/payouts/(?P<payout_id>po_\w+)/(?P<status>in_transit|paid|failed|canceled|paid_then_failed)", self._c_move_payout),
                ("GET", r"/_sandbox/events", lambda b, q: {"data": self.events(type=dict(parse_qsl(q)).get("type"))}),
                ("POST", r"/_sandbox/events/(?P<event_id>evt_\w+)/resend", lambda b, q, event_id: {"queued": self.webhooks.resend(event_id)}),
                ("GET", r"/_sandbox/webhooks", lambda b, q: self._c_webhooks()),
                ("POST", r"/_sandbox/webhooks/endpoints", self._c_add_endpoint),
                ("DELETE", r"/_sandbox/webhooks/endpoints", lambda b, q: self._c_clear_endpoints()),
                ("POST", r"/_sandbox/webhooks/endpoints/(?P<endpoint_id>we_\d+)/secrets", self._c_set_secrets),
                ("DELETE", r"/_sandbox/webhooks/endpoints/(?P<endpoint_id>we_\d+)", lambda b, q, endpoint_id: self._c_remove_endpoint(endpoint_id)),
                ("POST", r"/_sandbox/webhooks/config", self._c_webhook_config),
                ("GET", r"/_sandbox/webhooks/faults", lambda b, q: {"data": [r.as_dict() for r in self.webhooks.faults.rules]}),
                ("POST", r"/_sandbox/webhooks/faults", lambda b, q: self._c_add_fault(self.webhooks.faults, b)),
                ("DELETE", r"/_sandbox/webhooks/faults", lambda b, q: self._c_clear(self.webhooks.faults)),
                ("POST", r"/_sandbox/webhooks/hold", lambda b, q: self._c_hold()),
                ("POST", r"/_sandbox/webhooks/release", lambda b, q: {"released": self.webhooks.release(b.get("order", "fifo"))}),
                ("POST", r"/_sandbox/webhooks/drain", lambda b, q: {"drained": self.webhooks.drain(float(b.get("timeout", 10)))}),
                ("GET", r"/_sandbox/webhooks/deliveries", lambda b, q: {"data": self.webhooks.deliveries}),
                ("GET", r"/_sandbox/webhooks/pending", lambda b, q: {"data": self.webhooks.pending(), "given_up": self.webhooks.given_up, "clock": self._c_clock()}),
            ]
        ]  # fmt: skip

    def _control(self, h, method, path, query, raw, request_id) -> None:
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            for route_method, pattern, fn in self._control_routes:
                m = pattern.match(path)
                if m and route_method == method:
                    result = fn(body, query, **m.groupdict())
                    return self._send_json(h, 200, result, request_id)
            return self._send_json(
                h, 404, error_body(f"No control endpoint {method} {path}."), request_id
            )
        except KeyError as e:
            return self._send_json(h, 404, error_body(f"Not found: {e}"), request_id)
        except (ValueError, TypeError) as e:
            return self._send_json(h, 400, error_body(str(e)), request_id)
        except ApiError as e:
            return self._send_json(h, e.status, e.body(), request_id)

    def _c_health(self, body, query):
        return {"ok": True, "url": self.url, "api_version": API_VERSION}

    def _c_state(self, body, query):
        with self.state.lock:
            counts = {
                "accounts": len(self.state.accounts),
                "transfers": len(self.state.transfers),
                "payouts": len(self.state.payouts),
                "events": len(self.state.events),
            }
            balance = {
                currency: sum(pool.values())
                for currency, pool in self.state.platform_balance.items()
            }
            by_source_type = copy.deepcopy(self.state.platform_balance)
        return {
            "counts": counts,
            "balance": balance,
            "balance_by_source_type": by_source_type,
            "clock": self._c_clock(),
            "latency_ms": self.latency_ms,
            "rate_limit": self.rate_limiter.per_second,
            "idempotency_keys": len(self.idempotency),
            "webhook_endpoints": [e.as_dict() for e in self.webhooks.endpoints],
        }

    def _c_reset(self, body, query):
        self.reset()
        return {"ok": True}

    def _c_config(self, body, query):
        if "latency_ms" in body:
            self.set_latency(int(body["latency_ms"] or 0))
        if "rate_limit" in body:
            self.set_rate_limit(int(body["rate_limit"]) if body["rate_limit"] else None)
        if "seed" in body:
            self.faults.reseed(int(body["seed"]))
            self.webhooks.faults.reseed(int(body["seed"]))
        return {"latency_ms": self.latency_ms, "rate_limit": self.rate_limiter.per_second}

    def _c_transfers(self, body, query):
        group = dict(parse_qsl(query)).get("transfer_group")
        data = [t for t in self.transfers() if group is None or t["transfer_group"] == group]
        return {"data": data, "duplicates": self.duplicate_live_transfers()}

    @staticmethod
    def _c_add_fault(plan: FaultPlan, body: dict[str, Any]):
        options = dict(body)
        kind = options.pop("kind", None)
        if not kind:
            raise ValueError("kind is required")
        allowed = set(FaultRule.__dataclass_fields__) - {
            "kind",
            "id",
            "matched",
            "fired",
            "triggered",
            "released",
        }
        unknown = set(options) - allowed
        if unknown:
            raise ValueError(f"unknown fault options: {sorted(unknown)}")
        return plan.add(kind, **options).as_dict()

    @staticmethod
    def _c_clear(plan: FaultPlan):
        plan.clear()
        return {"ok": True}

    def _c_release_fault(self, body, query, rule_id):
        rule = self.faults.get(rule_id)
        if rule is None:
            raise KeyError(rule_id)
        rule.release()
        return rule.as_dict()

    def _c_clock(self):
        return {"now": self.clock.timestamp(), "offset_seconds": self.clock.offset}

    def _c_clock_advance(self, body, query):
        self.clock.advance(
            seconds=float(body.get("seconds", 0)),
            minutes=float(body.get("minutes", 0)),
            hours=float(body.get("hours", 0)),
            days=float(body.get("days", 0)),
        )
        return self._c_clock()

    def _c_get_balance(self, body, query):
        q = dict(parse_qsl(query))
        currency, account = q.get("currency", "usd"), q.get("account")
        return {
            "amount": self.balance(currency, account),
            "currency": currency,
            "source_types": self.balances(account).get(currency, {}),
        }

    def _c_set_balance(self, body, query):
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ValueError("amount is integer cents")
        currency = body.get("currency") or "usd"
        source_type = body.get("source_type") or "bank_account"
        if source_type not in SOURCE_TYPES:
            raise ValueError(f"source_type is one of {', '.join(SOURCE_TYPES)}")
        account = body.get("account")
        self.set_balance(amount, currency, account, source_type)
        return {
            "amount": self.balance(currency, account),
            "currency": currency,
            "source_types": self.balances(account).get(currency, {}),
        }

    def _c_add_api_key(self, body, query):
        self.add_api_key(str(body.get("key") or ""))
        return {"ok": True}

    def _c_create_account(self, body, query):
        return self.create_account(
            email=body.get("email"),
            onboarded=bool(body.get("onboarded")),
            metadata=body.get("metadata"),
        )

    def _c_create_payout(self, body, query):
        amount = body.get("amount")
        if not isinstance(amount, int):
            raise ValueError("amount is integer cents")
        return self.create_payout(body["account"], amount, body.get("currency", "usd"))

    def _c_move_payout(self, body, query, payout_id, status):
        failure_code = body.get("failure_code", "account_closed")
        if failure_code not in PAYOUT_FAILURES:
            raise ValueError(f"failure_code is one of {sorted(PAYOUT_FAILURES)}")
        return self.move_payout(payout_id, status, failure_code=failure_code)

    def _c_webhooks(self):
        return {
            "endpoints": [e.as_dict() for e in self.webhooks.endpoints],
            "delay_ms": self.webhooks.delay_ms,
            "reorder": self.webhooks.reorder,
            "held": self.webhooks.held,
        }

    def _c_add_endpoint(self, body, query):
        endpoint = self.webhooks.add_endpoint(
            body["url"],
            body.get("secrets") or body.get("secret"),
            connect=body.get("connect"),
            enabled_events=body.get("enabled_events"),
        )
        return endpoint.as_dict()

    def _c_clear_endpoints(self):
        self.webhooks.clear_endpoints()
        return {"ok": True}

    def _c_remove_endpoint(self, endpoint_id):
        self.webhooks.remove_endpoint(endpoint_id)
        return {"ok": True}

    def _c_set_secrets(self, body, query, endpoint_id):
        return self.webhooks.set_secrets(
            endpoint_id, body.get("secrets") or body["secret"]
        ).as_dict()

    def _c_webhook_config(self, body, query):
        if "delay_ms" in body:
            self.webhooks.delay_ms = max(int(body["delay_ms"] or 0), 0)
        if "reorder" in body:
            self.webhooks.reorder = bool(body["reorder"])
        return self._c_webhooks()

    def _c_hold(self):
        self.webhooks.hold()
        return {"held": self.webhooks.held}
