"""A small client for the sandbox's private ``/_sandbox`` control API (another process)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

# Never through a proxy: the sandbox is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxControl:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ValueError("the sandbox runs on the loopback interface")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback http only, checked above
            f"{self.url}/_sandbox/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with _opener.open(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    # conveniences mirroring SandboxServer
    def health(self) -> dict[str, Any]:
        return self.call("GET", "health")

    def reset(self) -> None:
        self.call("POST", "reset")

    def configure(self, *, latency_ms: int | None = None, rate_limit: int | None = None) -> dict:
        body: dict[str, Any] = {}
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if rate_limit is not None:
            body["rate_limit"] = rate_limit
        return self.call("POST", "config", body)

    def add_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        return self.call("POST", "faults", {"kind": kind, **options})

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "faults")["data"]

    def release_fault(self, rule_id: str) -> dict[str, Any]:
        return self.call("POST", f"faults/{rule_id}/release")

    def transfers(self, transfer_group: str | None = None) -> list[dict[str, Any]]:
        query = f"?transfer_group={transfer_group}" if transfer_group else ""
        return self.call("GET", f"transfers{query}")["data"]

    def duplicate_live_transfers(self) -> dict[str, list[str]]:
        return self.call("GET", "transfers/duplicates")

    def advance_clock(self, **delta: float) -> dict[str, Any]:
        return self.call("POST", "clock/advance", delta)

    def set_balance(
        self,
        amount: int,
        currency: str = "usd",
        account: str | None = None,
        source_type: str = "bank_account",
    ) -> dict:
        """Set one source type's available balance in cents (bank_account: top-up money)."""
        return self.call(
            "POST",
            "balance",
            {
                "amount": amount,
                "currency": currency,
                "account": account,
                "source_type": source_type,
            },
        )

    def balance(self, currency: str = "usd", account: str | None = None) -> dict[str, Any]:
        """``{"amount": total, "currency": .., "source_types": {type: cents}}``."""
        query = f"?currency={currency}" + (f"&account={account}" if account else "")
        return self.call("GET", f"balance{query}")

    def add_api_key(self, key: str) -> None:
        self.call("POST", "api_keys", {"key": key})

    def create_account(self, *, email: str | None = None, onboarded: bool = False) -> dict:
        return self.call("POST", "accounts", {"email": email, "onboarded": onboarded})

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        return self.call("POST", f"accounts/{account_id}/onboard")

    def restrict_account(self, account_id: str) -> dict[str, Any]:
        return self.call("POST", f"accounts/{account_id}/restrict")

    def create_payout(self, account_id: str, amount: int, currency: str = "usd") -> dict:
        return self.call(
            "POST", "payouts", {"account": account_id, "amount": amount, "currency": currency}
        )

    def move_payout(self, payout_id: str, status: str, failure_code: str = "account_closed"):
        return self.call("POST", f"payouts/{payout_id}/{status}", {"failure_code": failure_code})

    def add_webhook_endpoint(
        self, url: str, secrets: list[str] | str | None = None, connect: bool | None = None
    ) -> dict[str, Any]:
        return self.call(
            "POST", "webhooks/endpoints", {"url": url, "secrets": secrets, "connect": connect}
        )

    def add_webhook_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        return self.call("POST", "webhooks/faults", {"kind": kind, **options})

    def drain_webhooks(self, timeout: float = 10.0) -> bool:
        return self.call("POST", "webhooks/drain", {"timeout": timeout})["drained"]

    def pending_deliveries(self) -> dict[str, Any]:
        """Deliveries waiting for a retry (``data``, with ``next_attempt_at`` on the sandbox
        clock), those given up after three days (``given_up``), and the clock."""
        return self.call("GET", "webhooks/pending")

    def deliveries(self) -> list[dict[str, Any]]:
        return self.call("GET", "webhooks/deliveries")["data"]

    def requests(self) -> list[dict[str, Any]]:
        return self.call("GET", "requests")["data"]
