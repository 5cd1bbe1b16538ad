"""Counted, seeded fault rules for the API and for webhook deliveries.

A rule matches requests (or events); it lets ``skip`` matches pass, then fires at most
``times`` times (``None``: every match), each with ``probability`` drawn from the plan's
seeded generator. A request triggers at most one rule: the first that fires.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import dataclass, field
from typing import Any

API_FAULTS = {
    # close the socket before anything is committed or stored
    "drop_before",
    # commit and store the response, then close the socket without answering
    "drop_after",
    # hold the response (phase=after_commit) or the work (phase=before_commit)
    "delay",
    # answer status 500/503; with should_retry=True nothing is done or stored
    "error",
    # answer 429; nothing is done or stored
    "rate_limit",
    # the transfer fails with balance_insufficient whatever the balance (stored); with
    # path="/v1/transfers/*/reversals", the reversal fails so
    "balance_insufficient",
    # the destination cannot receive transfers (stored)
    "cannot_receive",
}

# "unreachable": an attempt fails as if the endpoint were down (nothing is sent)
WEBHOOK_FAULTS = {"duplicate", "delay", "wrong_secret", "stale_timestamp", "unreachable"}

# Faults about transfers default to matching only transfer creation.
_TRANSFER_ONLY = {"balance_insufficient", "cannot_receive"}


@dataclass
class FaultRule:
    kind: str
    # matching (API): method, fnmatch path, Stripe-Account header, top-level params
    method: str | None = None
    path: str = "/v1/*"
    account: str | None = None
    params: dict[str, str] | None = None
    # matching (webhooks): fnmatch event type
    event_type: str = "*"
    # counting
    times: int | None = 1
    skip: int = 0
    probability: float = 1.0
    # kind-specific
    status: int = 500
    should_retry: bool | None = None
    commit: bool = False
    delay_ms: int = 0
    phase: str = "after_commit"
    copies: int = 2
    age_s: int = 600
    id: str = ""
    matched: int = 0
    fired: int = 0
    # set when a fault takes effect (for delays: once the request is being held)
    triggered: threading.Event = field(default_factory=threading.Event, repr=False)
    # set to end a delay early
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.fired, 0)

    def release(self) -> None:
        """End any delay this rule is holding now (and make later delays instant)."""
        self.released.set()

    def wait_triggered(self, timeout: float = 5.0) -> bool:
        return self.triggered.wait(timeout)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "account": self.account,
            "params": self.params,
            "event_type": self.event_type,
            "times": self.times,
            "skip": self.skip,
            "probability": self.probability,
            "status": self.status,
            "should_retry": self.should_retry,
            "commit": self.commit,
            "delay_ms": self.delay_ms,
            "phase": self.phase,
            "copies": self.copies,
            "age_s": self.age_s,
            "matched": self.matched,
            "fired": self.fired,
            "remaining": self.remaining,
        }


class FaultPlan:
    """An ordered list of rules with a seeded random generator and counters."""

    def __init__(self, kinds: set[str], *, seed: int = 0, prefix: str = "fault") -> None:
        self._kinds = kinds
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._prefix = prefix

    def add(self, kind: str, **options: Any) -> FaultRule:
        if kind not in self._kinds:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(self._kinds)}")
        if kind in _TRANSFER_ONLY:
            options.setdefault("method", "POST")
            options.setdefault("path", "/v1/transfers")
        if kind == "error" and options.get("status", 500) < 500:
            raise ValueError("an error fault answers a 5xx status")
        if kind == "delay" and options.get("phase", "after_commit") not in (
            "before_commit",
            "after_commit",
        ):
            raise ValueError("phase is before_commit or after_commit")
        if options.get("times", 1) is not None and options.get("times", 1) < 0:
            raise ValueError("times must be >= 0 or None")
        if "params" in options and options["params"] is not None:
            options["params"] = {str(k): str(v) for k, v in options["params"].items()}
        if options.get("method"):
            options["method"] = options["method"].upper()
        rule = FaultRule(kind=kind, **options)
        with self._lock:
            rule.id = f"{self._prefix}_{next(self._ids)}"
            self._rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            for rule in self._rules:
                rule.release()
            self._rules = []

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng.seed(seed)

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def get(self, rule_id: str) -> FaultRule | None:
        with self._lock:
            return next((r for r in self._rules if r.id == rule_id), None)

    def pick_request(
        self, *, method: str, path: str, account: str | None, params: dict[str, Any]
    ) -> FaultRule | None:
        def matches(rule: FaultRule) -> bool:
            if rule.method and rule.method != method:
                return False
            if not fnmatch.fnmatchcase(path, rule.path):
                return False
            if rule.account is not None and rule.account != account:
                return False
            return not rule.params or all(params.get(k) == v for k, v in rule.params.items())

        return self._pick(matches)

    def pick_event(self, event_type: str, kinds: set[str] | None = None) -> list[FaultRule]:
        """Every webhook rule (one per kind) that fires for one delivery of this event."""
        fired: list[FaultRule] = []
        for kind in sorted(kinds or self._kinds):
            rule = self._pick(
                lambda r, kind=kind: (
                    r.kind == kind and fnmatch.fnmatchcase(event_type, r.event_type)
                )
            )
            if rule is not None:
                fired.append(rule)
        return fired

    def _pick(self, matches) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining == 0 or not matches(rule):
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None
