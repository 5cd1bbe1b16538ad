"""Webhook delivery: signed like Stripe, from a background thread, at least once.

A failed attempt (no answer, or not 2xx) is retried as Stripe retries it
(https://docs.stripe.com/webhooks, "Automatic retries": "In live mode, Stripe attempts to
deliver a given event to your webhook endpoint for up to 3 days with an exponential back
off"; RULES.md, "Webhook deliveries"):

1. first a few quick retries in wall time (``QUICK_RETRIES``, about 8 s in all), so a
   receiver that is still starting (the demo's web server) gets its events at once;
2. then on Stripe's schedule on the sandbox's movable clock (``RETRY_SCHEDULE``: 1 min,
   then three times longer each time up to 12 h apart), until three days after the first
   attempt; then the sandbox gives up on that delivery (``given_up``).

A test moves the clock (``SandboxClock.advance``) and the retries due by then go out at
once. Every attempt is signed with the wall-clock time it is sent (``t=`` is when Stripe
sent it), while the event's ``created`` stays what it was: a retry 30 hours late still
verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .clock import SandboxClock
from .faults import WEBHOOK_FAULTS, FaultPlan

log = logging.getLogger(__name__)

_EVENT_FAULTS = {"duplicate", "delay"}
_ATTEMPT_FAULTS = {"wrong_secret", "stale_timestamp", "unreachable"}

# Wall-time seconds before each quick retry of a failed delivery.
QUICK_RETRIES = (0.05, 0.2, 0.5, 1.0, 2.0, 4.0)
# Stripe's retries, in sandbox-clock seconds after each scheduled failure: exponential
# from a minute, at most 12 hours apart, for up to three days after the first attempt.
RETRY_FIRST_SECONDS = 60
RETRY_FACTOR = 3
RETRY_MAX_GAP_SECONDS = 12 * 3600
RETRY_FOR_SECONDS = 3 * 86400


def retry_delay(n: int) -> int:
    """Seconds (sandbox clock) before scheduled retry number ``n`` (1, 2, ...)."""
    return min(RETRY_FIRST_SECONDS * RETRY_FACTOR ** (n - 1), RETRY_MAX_GAP_SECONDS)


def retry_schedule() -> list[int]:
    """Every scheduled retry's offset from the end of the quick retries (for docs, tests)."""
    offsets, total, n = [], 0, 1
    while total + retry_delay(n) <= RETRY_FOR_SECONDS:
        total += retry_delay(n)
        offsets.append(total)
        n += 1
    return offsets


RETRY_SCHEDULE = retry_schedule()


def sign(payload: bytes, secrets_: list[str], timestamp: int) -> str:
    """``t=<unix>,v1=<hex>[,v1=<hex>]``: HMAC-SHA256 over ``"<t>.<raw body>"``, one per secret."""
    signed = f"{timestamp}.".encode() + payload
    parts = [f"t={timestamp}"]
    for secret in secrets_:
        parts.append("v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


@dataclass
class Endpoint:
    id: str
    url: str
    secrets: list[str]
    # None: every event; True: only Connect events (with ``account``); False: only the platform's
    connect: bool | None = None
    enabled_events: list[str] = field(default_factory=lambda: ["*"])

    def wants(self, event: dict[str, Any]) -> bool:
        is_connect = bool(event.get("account"))
        if self.connect is not None and self.connect != is_connect:
            return False
        return "*" in self.enabled_events or event["type"] in self.enabled_events

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "secrets": list(self.secrets),
            "connect": self.connect,
            "enabled_events": list(self.enabled_events),
        }


@dataclass
class _Task:
    seq: int
    event_id: str
    event_type: str
    account: str | None
    payload: bytes
    endpoint: Endpoint
    not_before: float
    attempt: int = 1
    copy: int = 1
    # On the sandbox clock: when the first attempt was made, and when the next scheduled
    # retry is due (None while the delivery is new or in its quick retries).
    first_at: float | None = None
    due_at: float | None = None
    scheduled: int = 0
    last_status: int | None = None
    last_error: str | None = None


class WebhookDispatcher:
    """Queues events per endpoint and POSTs them from one worker thread.

    Knobs: ``delay_ms`` (every first attempt waits), ``reorder`` (pick a random ready
    delivery instead of the oldest), ``hold()``/``release(order)``, and counted faults
    (``faults.add("duplicate" | "delay" | "wrong_secret" | "stale_timestamp" |
    "unreachable", ...)``). A failed attempt (non-2xx or connection error) is retried
    after ``retry_delays`` (wall seconds), then on ``RETRY_SCHEDULE`` (sandbox clock);
    ``pending()`` lists what waits and when it is next tried.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        retry_delays: tuple[float, ...] = QUICK_RETRIES,
        timeout: float = 5.0,
        clock: SandboxClock | None = None,
    ) -> None:
        self.faults = FaultPlan(WEBHOOK_FAULTS, seed=seed, prefix="whfault")
        self.retry_delays = tuple(retry_delays)
        self.clock = clock or SandboxClock()
        self.timeout = timeout
        self.delay_ms = 0
        self.reorder = False
        self._rng = random.Random(seed)
        self._endpoints: list[Endpoint] = []
        self._queue: list[_Task] = []
        self._held: list[_Task] = []
        self._holding = False
        self._in_flight = 0
        self._deliveries: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent_events: dict[str, bytes] = {}
        self._given_up: list[dict[str, Any]] = []
        self.clock.subscribe(self._clock_moved)

    def _clock_moved(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- endpoints ---------------------------------------------------------------------

    def add_endpoint(
        self,
        url: str,
        secrets: str | list[str] | tuple[str, ...] | None = None,
        *,
        connect: bool | None = None,
        enabled_events: list[str] | None = None,
    ) -> Endpoint:
        if not url.startswith(("http://", "https://")):
            raise ValueError("a webhook URL starts with http:// or https://")
        if isinstance(secrets, str):
            secrets = [secrets]
        secrets = list(secrets or [])
        if not secrets:
            secrets = ["whsec_" + _token(32)]
        with self._cond:
            endpoint = Endpoint(
                id=f"we_{next(self._ids)}",
                url=url,
                secrets=secrets,
                connect=connect,
                enabled_events=list(enabled_events or ["*"]),
            )
            self._endpoints.append(endpoint)
            return endpoint

    def set_secrets(self, endpoint_id: str, secrets: str | list[str]) -> Endpoint:
        """Rotate: every listed secret signs each delivery (one ``v1`` apiece)."""
        if isinstance(secrets, str):
            secrets = [secrets]
        with self._cond:
            endpoint = self._endpoint(endpoint_id)
            endpoint.secrets = list(secrets)
            return endpoint

    def remove_endpoint(self, endpoint_id: str) -> None:
        with self._cond:
            self._endpoints = [e for e in self._endpoints if e.id != endpoint_id]

    def clear_endpoints(self) -> None:
        with self._cond:
            self._endpoints = []

    @property
    def endpoints(self) -> list[Endpoint]:
        with self._cond:
            return list(self._endpoints)

    def _endpoint(self, endpoint_id: str) -> Endpoint:
        for endpoint in self._endpoints:
            if endpoint.id == endpoint_id:
                return endpoint
        raise KeyError(endpoint_id)

    # -- queueing ----------------------------------------------------------------------

    def count_targets(self, event: dict[str, Any]) -> int:
        with self._cond:
            return sum(1 for e in self._endpoints if e.wants(event))

    def enqueue(self, event: dict[str, Any]) -> None:
        """Queue one event for every endpoint that wants it. Never blocks on the network."""
        payload = json.dumps(event, indent=2).encode()
        with self._cond:
            self._sent_events[event["id"]] = payload
            for endpoint in self._endpoints:
                if endpoint.wants(event):
                    self._queue_event(event, payload, endpoint)
            self._cond.notify_all()

    def resend(self, event_id: str) -> bool:
        """Deliver a past event again (as Stripe's dashboard "resend" does)."""
        with self._cond:
            payload = self._sent_events.get(event_id)
            if payload is None:
                return False
            event = json.loads(payload)
            for endpoint in self._endpoints:
                if endpoint.wants(event):
                    self._queue_event(event, payload, endpoint)
            self._cond.notify_all()
            return True

    def _queue_event(self, event: dict[str, Any], payload: bytes, endpoint: Endpoint) -> None:
        fired = {r.kind: r for r in self.faults.pick_event(event["type"], _EVENT_FAULTS)}
        copies = max(fired["duplicate"].copies, 1) if "duplicate" in fired else 1
        delay = self.delay_ms / 1000
        if "delay" in fired:
            delay += fired["delay"].delay_ms / 1000
            fired["delay"].triggered.set()
        if "duplicate" in fired:
            fired["duplicate"].triggered.set()
        now = time.monotonic()
        for copy in range(1, copies + 1):
            task = _Task(
                seq=next(self._seq),
                event_id=event["id"],
                event_type=event["type"],
                account=event.get("account"),
                payload=payload,
                endpoint=endpoint,
                not_before=now + delay,
                copy=copy,
            )
            (self._held if self._holding else self._queue).append(task)

    def hold(self) -> None:
        """Keep new deliveries back until ``release``."""
        with self._cond:
            self._holding = True

    def release(self, order: str = "fifo") -> int:
        """Let held deliveries go, in ``fifo``, ``reverse`` or (seeded) ``shuffle`` order."""
        if order not in ("fifo", "reverse", "shuffle"):
            raise ValueError("order is fifo, reverse or shuffle")
        with self._cond:
            held = self._held
            self._held = []
            self._holding = False
            if order == "reverse":
                held.reverse()
            elif order == "shuffle":
                self._rng.shuffle(held)
            now = time.monotonic()
            for task in held:
                task.seq = next(self._seq)  # the release order is the delivery order
                task.not_before = max(task.not_before, now)
            self._queue.extend(held)
            self._cond.notify_all()
            return len(held)

    @property
    def held(self) -> int:
        with self._cond:
            return len(self._held)

    def _waits_for_clock(self, task: _Task) -> bool:
        return task.due_at is not None and task.due_at > self.clock.now()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is due (held deliveries and retries scheduled for later on
        the sandbox clock aside) or in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._in_flight or any(not self._waits_for_clock(t) for t in self._queue):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    # -- records -----------------------------------------------------------------------

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """One record per attempt: event, endpoint, attempt, HTTP status or error, header."""
        with self._cond:
            return [dict(d) for d in self._deliveries]

    def pending(self) -> list[dict[str, Any]]:
        """Deliveries waiting for their next attempt, soonest first.

        ``next_attempt_at`` is sandbox-clock unix time for a scheduled retry (None while
        the delivery is new or in its quick retries, or held).
        """
        with self._cond:
            rows = [
                {
                    "event_id": t.event_id,
                    "event_type": t.event_type,
                    "account": t.account,
                    "endpoint": t.endpoint.id,
                    "url": t.endpoint.url,
                    "next_attempt": t.attempt,
                    "phase": (
                        "held"
                        if any(t is h for h in self._held)
                        else "scheduled"
                        if t.due_at is not None
                        else "quick"
                    ),
                    "next_attempt_at": int(t.due_at) if t.due_at is not None else None,
                    "first_attempt_at": int(t.first_at) if t.first_at is not None else None,
                    "last_status": t.last_status,
                    "last_error": t.last_error,
                }
                for t in [*self._queue, *self._held]
            ]
        return sorted(rows, key=lambda r: (r["next_attempt_at"] or 0, r["event_id"]))

    @property
    def given_up(self) -> list[dict[str, Any]]:
        """Deliveries abandoned after three days of retries."""
        with self._cond:
            return [dict(g) for g in self._given_up]

    def delivered(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Attempts that got a 2xx, optionally of one event type."""
        return [
            d
            for d in self.deliveries
            if d["ok"] and (event_type is None or d["event_type"] == event_type)
        ]

    def reset(self) -> None:
        with self._cond:
            self._queue = []
            self._held = []
            self._holding = False
            self._deliveries = []
            self._given_up = []
            self._sent_events = {}
            self.delay_ms = 0
            self.reorder = False
        self.faults.clear()

    # -- worker ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None

    def _next_task(self) -> _Task | None:
        with self._cond:
            while not self._stop.is_set():
                now = time.monotonic()
                clock_now = self.clock.now()
                ready = [
                    t
                    for t in self._queue
                    if (t.due_at <= clock_now if t.due_at is not None else t.not_before <= now)
                ]
                if ready:
                    if self.reorder:
                        task = self._rng.choice(ready)
                    else:
                        task = min(ready, key=lambda t: (t.not_before, t.seq))
                    self._queue.remove(task)
                    self._in_flight += 1
                    return task
                waits = [
                    (t.due_at - clock_now) if t.due_at is not None else (t.not_before - now)
                    for t in self._queue
                ]
                # Moving the clock wakes this wait (``_clock_moved``).
                self._cond.wait(max(min(min(waits, default=0.5), 0.5), 0.001))
        return None

    def _run(self) -> None:
        while True:
            task = self._next_task()
            if task is None:
                return
            try:
                self._attempt(task)
            except Exception:  # a bug here must not kill delivery
                log.exception("webhook delivery crashed")
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _attempt(self, task: _Task) -> None:
        fired = {r.kind: r for r in self.faults.pick_event(task.event_type, _ATTEMPT_FAULTS)}
        # Signed with when this attempt is sent (wall time), never the event's ``created``.
        timestamp = int(time.time())
        secrets_ = list(task.endpoint.secrets)
        fault = None
        if task.first_at is None:
            task.first_at = self.clock.now()
        if "stale_timestamp" in fired:
            timestamp -= fired["stale_timestamp"].age_s
            fault = "stale_timestamp"
        if "wrong_secret" in fired:
            secrets_ = ["whsec_wrong_" + _token(24)]
            fault = "wrong_secret" if fault is None else f"{fault}+wrong_secret"
        for rule in fired.values():
            rule.triggered.set()
        header = sign(task.payload, secrets_, timestamp)
        if "unreachable" in fired:
            # The endpoint is down for this attempt: nothing is sent.
            fault = "unreachable" if fault is None else f"{fault}+unreachable"
            status, error = None, "ConnectionRefusedError: the endpoint did not answer"
        else:
            status, error = self._post(task.endpoint.url, task.payload, header)
        ok = status is not None and 200 <= status < 300
        with self._cond:
            self._deliveries.append(
                {
                    "event_id": task.event_id,
                    "event_type": task.event_type,
                    "account": task.account,
                    "endpoint": task.endpoint.id,
                    "url": task.endpoint.url,
                    "attempt": task.attempt,
                    "copy": task.copy,
                    "status": status,
                    "ok": ok,
                    "error": error,
                    "fault": fault,
                    "signature": header,
                    "timestamp": timestamp,
                    "at": time.time(),
                }
            )
            if ok or self._stop.is_set():
                return
            task.last_status, task.last_error = status, error
            if task.attempt <= len(self.retry_delays):
                task.not_before = time.monotonic() + self.retry_delays[task.attempt - 1]
            else:
                task.scheduled += 1
                due = self.clock.now() + retry_delay(task.scheduled)
                if due > task.first_at + RETRY_FOR_SECONDS:
                    log.warning(
                        "webhook %s to %s given up after %s attempts",
                        task.event_id,
                        task.endpoint.url,
                        task.attempt,
                    )
                    self._given_up.append(
                        {
                            "event_id": task.event_id,
                            "event_type": task.event_type,
                            "endpoint": task.endpoint.id,
                            "attempts": task.attempt,
                        }
                    )
                    return
                task.due_at = due
            task.attempt += 1
            task.seq = next(self._seq)
            self._queue.append(task)

    def _post(self, url: str, payload: bytes, header: str) -> tuple[int | None, str | None]:
        parts = urlsplit(url)
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.request(
                "POST",
                path,
                body=payload,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": header,
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    "Cache-Control": "no-cache",
                },
            )
            response = conn.getresponse()
            response.read()
            return response.status, None
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()


def _token(n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))
