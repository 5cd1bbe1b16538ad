"""Honora's local Stripe-compatible HTTP server ("the sandbox"), on 127.0.0.1 only.

    server = SandboxServer(port=0, webhook_url=..., webhook_secret="whsec_...")
    server.start()
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": server.url, ...})
    ...
    server.stop()

``/v1/...`` speaks Stripe (form-encoded requests, Stripe's JSON, errors, idempotency);
``/onboarding/<token>`` is the hosted-onboarding stand-in; ``/_sandbox/...`` is a private
JSON control API so another process (the demo, a benchmark) can drive faults, webhooks,
payouts and the clock. See ``SandboxControl`` for a client of it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import signal
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .api import ApiRoutes
from .clock import SandboxClock
from .control_api import ControlRoutes
from .errors import ApiError
from .faults import API_FAULTS, FaultPlan, FaultRule
from .idempotency import IdempotencyStore
from .onboarding import OnboardingRoutes
from .state import SandboxState, new_id
from .webhooks import QUICK_RETRIES, WebhookDispatcher
from .wire import (
    API_VERSION,
    Drop,
    Handler,
    RateLimiter,
    SandboxHTTPServer,
    dumps,
    error_body,
)

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class SandboxServer(ApiRoutes, OnboardingRoutes, ControlRoutes):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | list[str] | None = None,
        webhook_connect: bool | None = None,
        webhook_retry_delays: tuple[float, ...] = QUICK_RETRIES,
        latency_ms: int = 0,
        rate_limit: int | None = None,
        seed: int = 0,
        balance: int = 0,
        currency: str = "usd",
        balance_source_type: str = "bank_account",
        api_keys: list[str] | None = None,
        platform_country: str = "US",
        public_url: str | None = None,
        state_file: str | os.PathLike | None = None,
        verbose: bool = False,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError("the Stripe sandbox listens on the loopback interface only")
        self.host = host
        self._port = port
        self.verbose = verbose
        self.public_url = public_url.rstrip("/") if public_url else None
        # None: any sk_/rk_ key is the platform's; a set: only these (add_api_key adds one,
        # as when a platform rolls its secret key and both work for a while).
        self.api_keys = set(api_keys) if api_keys else None
        self._api_keys_lock = threading.Lock()
        self.seed = seed
        self.latency_ms = latency_ms
        self.rate_limiter = RateLimiter(rate_limit)
        self._initial_knobs = (latency_ms, rate_limit)
        self.clock = SandboxClock()
        self.faults = FaultPlan(API_FAULTS, seed=seed)
        self.webhooks = WebhookDispatcher(
            seed=seed, retry_delays=webhook_retry_delays, clock=self.clock
        )
        self.idempotency = IdempotencyStore(self.clock)
        self.state = SandboxState(
            clock=self.clock,
            emit=self.webhooks.enqueue,
            count_targets=self.webhooks.count_targets,
            base_url=lambda: self.public_url or self.url,
            balance=balance,
            currency=currency,
            balance_source_type=balance_source_type,
            api_version=API_VERSION,
        )
        self.state.platform_country = platform_country.upper()
        if webhook_url:
            self.webhooks.add_endpoint(webhook_url, webhook_secret, connect=webhook_connect)
        self._requests: deque[dict[str, Any]] = deque(maxlen=20_000)
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # The demo keeps its accounts and transfers across restarts; tests keep nothing.
        self.state_file = Path(state_file) if state_file else None
        self._dirty = threading.Event()
        self._saver: threading.Thread | None = None
        if self.state_file is not None and self.state_file.exists():
            self._load_state()
        self._routes = self._build_routes()
        self._control_routes = self._build_control_routes()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = SandboxHTTPServer((self.host, self._port), Handler, self)
        self._port = self._httpd.server_address[1]
        self.webhooks.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"stripe-sandbox:{self._port}",
            daemon=True,
        )
        self._thread.start()
        if self.state_file is not None:
            self._saver = threading.Thread(
                target=self._save_loop, name="sandbox-saver", daemon=True
            )
            self._saver.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for rule in self.faults.rules:
            rule.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_open_connections()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.webhooks.stop()
        if self._saver is not None:
            self._saver.join(timeout=5)
            self._saver = None
        if self.state_file is not None:
            self.save_state()

    def save_state(self) -> None:
        """Write the sandbox's objects, balances, keys and clock to ``state_file``."""
        if self.state_file is None:
            return
        data = {
            "version": 1,
            "state": self.state.snapshot(),
            "idempotency": self.idempotency.snapshot(),
            "clock_offset": self.clock.offset,
        }
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.state_file)

    def _load_state(self) -> None:
        data = json.loads(self.state_file.read_text())
        self.state.restore(data.get("state", {}))
        self.idempotency.restore(data.get("idempotency", []))
        self.clock.reset(float(data.get("clock_offset", 0.0)))

    def _save_loop(self) -> None:
        while not self._stopping.is_set():
            if self._dirty.wait(0.2):
                self._dirty.clear()
                try:
                    self.save_state()
                except OSError:
                    log.exception("could not save the sandbox state")

    def serve_until_interrupted(self) -> None:
        """Run in the foreground until Ctrl-C or SIGTERM (``manage.py stripe_sandbox``).

        The signals only set a flag that a plain sleep loop reads. Letting Ctrl-C raise
        inside ``Event.wait`` could leave the event's lock held by this very thread
        (the interrupt lands between taking the lock and the ``with`` block's cleanup),
        and ``stop()``, which sets the event, then waited for that lock forever.
        """
        self.start()
        asked: list[int] = []
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda n, _frame: asked.append(n))
        try:
            while not asked and not self._stopping.is_set():
                time.sleep(0.1)
        except KeyboardInterrupt:
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    # -- knobs and test helpers --------------------------------------------------------

    def set_latency(self, ms: int) -> None:
        """Every API call waits this long (outside any lock) before it is handled."""
        self.latency_ms = max(int(ms), 0)

    def set_rate_limit(self, per_second: int | None) -> None:
        """Beyond this many API requests per second the sandbox answers 429."""
        self.rate_limiter.per_second = per_second or None

    def reset(self) -> None:
        """Forget every object, key, fault and delivery; keep webhook endpoints."""
        self.state.reset()
        self.idempotency.clear()
        self.faults.clear()
        self.webhooks.reset()
        self.clock.reset()
        self.latency_ms, per_second = self._initial_knobs
        self.rate_limiter.per_second = per_second
        with self._requests_lock:
            self._requests.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every API request seen: method, path, status, key, replayed, fault, dropped."""
        with self._requests_lock:
            return [dict(r) for r in self._requests]

    def transfers(self) -> list[dict[str, Any]]:
        """Every transfer ever created, oldest first, with its reversal state."""
        return self.state.dump_transfers()

    def live_transfers(self, transfer_group: str | None = None) -> list[dict[str, Any]]:
        """Transfers not fully reversed (optionally of one transfer group)."""
        return [
            t
            for t in self.transfers()
            if not t["reversed"]
            and (transfer_group is None or t["transfer_group"] == transfer_group)
        ]

    def duplicate_live_transfers(self) -> dict[str, list[str]]:
        """Transfer groups with more than one live transfer: a payment paid twice."""
        groups: dict[str, list[str]] = {}
        for t in self.live_transfers():
            if t["transfer_group"]:
                groups.setdefault(t["transfer_group"], []).append(t["id"])
        return {g: ids for g, ids in groups.items() if len(ids) > 1}

    def add_api_key(self, key: str) -> None:
        """Accept one more secret key for the platform (a rolled key; the old one stays)."""
        if not key.startswith(("sk_", "rk_")):
            raise ValueError("a secret key starts with sk_ or rk_")
        with self._api_keys_lock:
            if self.api_keys is not None:
                self.api_keys.add(key)

    def set_balance(
        self,
        amount: int,
        currency: str = "usd",
        account: str | None = None,
        source_type: str = "bank_account",
    ) -> None:
        """Set the platform's (or a connected account's) available balance of one source
        type, in cents (``bank_account`` unless told: money added by top-ups)."""
        self.state.set_balance(int(amount), currency.lower(), account, source_type)

    def balance(
        self, currency: str = "usd", account: str | None = None, source_type: str | None = None
    ) -> int:
        """The available balance in cents: of one source type, or of all (``None``)."""
        return self.state.balance_of(currency.lower(), account, source_type)

    def balances(self, account: str | None = None) -> dict[str, dict[str, int]]:
        """Every available balance: currency -> source type -> cents."""
        return self.state.balance_breakdown(account)

    def topups(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(list(self.state.topups.values()))

    def create_account(
        self,
        *,
        email: str | None = None,
        onboarded: bool = False,
        metadata: dict[str, str] | None = None,
        country: str | None = None,
    ) -> dict[str, Any]:
        """An Express account, optionally already onboarded (no event for creation).

        In ``country`` (the platform's by default), under the agreement Stripe's rules
        give it: full in the platform's country, recipient across a border.
        """
        country = (country or self.state.platform_country).upper()
        agreement = "full" if country == self.state.platform_country else "recipient"
        self.state.check_service_agreement(
            country=country, agreement=agreement, capabilities=["transfers"]
        )
        account = self.state.add_account(
            self.state.build_account(
                country=country, email=email, metadata=metadata, service_agreement=agreement
            )
        )
        if onboarded:
            account = self.state.complete_onboarding(account["id"])
        return account

    def account(self, account_id: str) -> dict[str, Any]:
        with self.state.lock:
            return copy.deepcopy(self.state.accounts[account_id])

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        return self.state.complete_onboarding(account_id)

    def restrict_account(self, account_id: str) -> dict[str, Any]:
        """The account can no longer receive transfers (emits account.updated)."""
        return self.state.restrict_account(account_id)

    def create_payout(self, account_id: str, amount: int, currency: str = "usd") -> dict:
        """A pending payout of ``amount`` cents on a connected account (emits payout.created)."""
        return self.state.add_payout(account_id, int(amount), currency.lower())

    def move_payout(self, payout_id: str, status: str, *, failure_code: str = "account_closed"):
        """status: in_transit, paid, failed, canceled or paid_then_failed."""
        return self.state.move_payout(payout_id, status, failure_code=failure_code)

    def payout_paid(self, payout_id: str) -> dict[str, Any]:
        return self.move_payout(payout_id, "paid")

    def payout_failed(self, payout_id: str, failure_code: str = "account_closed") -> dict:
        return self.move_payout(payout_id, "failed", failure_code=failure_code)

    def payout_canceled(self, payout_id: str) -> dict[str, Any]:
        return self.move_payout(payout_id, "canceled")

    def payout_paid_then_failed(self, payout_id: str, failure_code: str = "account_closed"):
        return self.move_payout(payout_id, "paid_then_failed", failure_code=failure_code)

    def events(self, type: str | None = None, account: str | None = "*") -> list[dict]:
        """Events oldest first; ``account="*"`` for all, ``None`` for the platform's only."""
        with self.state.lock:
            return [
                copy.deepcopy(e)
                for e in self.state.events
                if (type is None or e["type"] == type)
                and (account == "*" or e.get("account") == account)
            ]

    # -- HTTP plumbing -----------------------------------------------------------------

    def _sleep(self, seconds: float, rule: FaultRule | None = None) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and not (rule and rule.released.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            (rule.released if rule else self._stopping).wait(min(left, 0.05))

    def _handle(self, h: Handler, method: str) -> None:
        request_id = new_id("req", 14)
        parts = urlsplit(h.path)
        path = parts.path.rstrip("/") or "/"
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = h.rfile.read(length).decode("utf-8", "replace") if length > 0 else ""
        if self.state_file is not None and (method != "GET" or path.startswith("/onboarding/")):
            self._dirty.set()
        try:
            if path.startswith("/v1/"):
                self._api(h, method, path, parts.query, raw, request_id)
            elif path.startswith("/_sandbox/") or path == "/_sandbox":
                self._control(h, method, path, parts.query, raw, request_id)
            elif path.startswith("/onboarding/"):
                self._onboarding(h, method, path, parts.query, raw, request_id)
            else:
                self._send_json(h, 404, error_body("Not found."), request_id)
        except Drop:
            h.close_connection = True
        except OSError:  # the client went away (timed out, or the sandbox is stopping)
            h.close_connection = True
        except Exception:
            log.exception("sandbox crashed on %s %s", method, path)
            h.close_connection = True
            with contextlib.suppress(OSError):
                body = ApiError(500, "An unknown error occurred", type="api_error").body()
                self._send_json(h, 500, body, request_id)

    def _send(
        self,
        h: Handler,
        status: int,
        body: bytes,
        request_id: str,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Request-Id", request_id)
        h.send_header("Cache-Control", "no-cache, no-store")
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def _send_json(self, h, status, data, request_id, headers=None) -> None:
        self._send(h, status, dumps(data), request_id, headers=headers)

    def _record(self, **entry: Any) -> None:
        entry.setdefault("at", time.time())
        with self._requests_lock:
            self._requests.append(entry)
