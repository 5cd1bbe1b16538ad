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

import base64
import binascii
import contextlib
import copy
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .clock import SandboxClock
from .errors import ApiError, decode_form
from .faults import API_FAULTS, FaultPlan, FaultRule
from .idempotency import IdempotencyStore, Replay
from .onboarding import message, page
from .state import PAYOUT_FAILURES, RequestContext, SandboxState, new_id
from .webhooks import WebhookDispatcher

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

try:  # objects and events carry the API version the installed SDK speaks
    from stripe._api_version import _ApiVersion

    API_VERSION = _ApiVersion.CURRENT
except Exception:  # pragma: no cover - the SDK is a dependency
    API_VERSION = "2026-10-28.endive"


class RateLimiter:
    """At most ``per_second`` API requests in any sliding second; ``None`` means no limit."""

    def __init__(self, per_second: int | None = None, now: Callable[[], float] = time.monotonic):
        self.per_second = per_second
        self.now = now
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        if not self.per_second:
            return True
        with self._lock:
            t = self.now()
            while self._hits and self._hits[0] <= t - 1.0:
                self._hits.popleft()
            if len(self._hits) >= self.per_second:
                return False
            self._hits.append(t)
            return True


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., dict[str, Any]]
    connected: bool = False  # may be called on a connected account (Stripe-Account)


class _Drop(Exception):
    """Close the connection without answering."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, sandbox: SandboxServer):
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_open_connections(self) -> None:
        # keep-alive connections must not outlive stop()
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _HTTPServer

    def do_GET(self):
        self.server.sandbox._handle(self, "GET")

    def do_POST(self):
        self.server.sandbox._handle(self, "POST")

    def do_DELETE(self):
        self.server.sandbox._handle(self, "DELETE")

    def log_message(self, format, *args):
        if self.server.sandbox.verbose:
            sys.stderr.write(f"[sandbox] {self.address_string()} {format % args}\n")


class SandboxServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | list[str] | None = None,
        webhook_connect: bool | None = None,
        webhook_retry_delays: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0, 2.0),
        latency_ms: int = 0,
        rate_limit: int | None = None,
        seed: int = 0,
        balance: int = 10_000_000,
        currency: str = "usd",
        api_keys: list[str] | None = None,
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
        self.api_keys = set(api_keys) if api_keys else None
        self.seed = seed
        self.latency_ms = latency_ms
        self.rate_limiter = RateLimiter(rate_limit)
        self._initial_knobs = (latency_ms, rate_limit)
        self.clock = SandboxClock()
        self.faults = FaultPlan(API_FAULTS, seed=seed)
        self.webhooks = WebhookDispatcher(seed=seed, retry_delays=webhook_retry_delays)
        self.idempotency = IdempotencyStore(self.clock)
        self.state = SandboxState(
            clock=self.clock,
            emit=self.webhooks.enqueue,
            count_targets=self.webhooks.count_targets,
            base_url=lambda: self.public_url or self.url,
            balance=balance,
            currency=currency,
            api_version=API_VERSION,
        )
        if webhook_url:
            self.webhooks.add_endpoint(webhook_url, webhook_secret, connect=webhook_connect)
        self._requests: deque[dict[str, Any]] = deque(maxlen=20_000)
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
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
        self._httpd = _HTTPServer((self.host, self._port), _Handler, self)
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
        """Run in the foreground until Ctrl-C (for ``manage.py stripe_sandbox``)."""
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
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

    def set_balance(self, amount: int, currency: str = "usd", account: str | None = None) -> None:
        """Set the platform's (or a connected account's) available balance, in cents."""
        self.state.set_balance(int(amount), currency.lower(), account)

    def balance(self, currency: str = "usd", account: str | None = None) -> int:
        return self.state.balance_of(currency.lower(), account)

    def create_account(
        self,
        *,
        email: str | None = None,
        onboarded: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An Express recipient account, optionally already onboarded (no event for creation)."""
        account = self.state.add_account(
            self.state.build_account(email=email, metadata=metadata, service_agreement="recipient")
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

    def _handle(self, h: _Handler, method: str) -> None:
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
                self._send_json(h, 404, _error_body("Not found."), request_id)
        except _Drop:
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
        h: _Handler,
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
        self._send(h, status, _dumps(data), request_id, headers=headers)

    def _record(self, **entry: Any) -> None:
        entry.setdefault("at", time.time())
        with self._requests_lock:
            self._requests.append(entry)

    # -- /v1 ---------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        s = self.state
        table = [
            ("POST", r"/v1/accounts", s.create_account, False),
            ("GET", r"/v1/accounts", s.list_accounts, False),
            ("GET", r"/v1/accounts/(?P<id>[^/]+)", s.retrieve_account, False),
            ("POST", r"/v1/accounts/(?P<id>[^/]+)", s.update_account, False),
            ("POST", r"/v1/account_links", s.create_account_link, False),
            ("POST", r"/v1/transfers", s.create_transfer, False),
            ("GET", r"/v1/transfers", s.list_transfers, False),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)", s.retrieve_transfer, False),
            ("POST", r"/v1/transfers/(?P<id>[^/]+)", s.update_transfer, False),
            ("POST", r"/v1/transfers/(?P<id>[^/]+)/reversals", s.create_reversal, False),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)/reversals", s.list_reversals, False),
            (
                "GET",
                r"/v1/transfers/(?P<id>[^/]+)/reversals/(?P<reversal_id>[^/]+)",
                s.retrieve_reversal,
                False,
            ),
            ("GET", r"/v1/balance", s.retrieve_balance, True),
            ("POST", r"/v1/payouts", s.create_payout, True),
            ("GET", r"/v1/payouts", s.list_payouts, True),
            ("GET", r"/v1/payouts/(?P<id>[^/]+)", s.retrieve_payout, True),
            ("POST", r"/v1/payouts/(?P<id>[^/]+)/cancel", s.cancel_payout, True),
            ("GET", r"/v1/events", s.list_events, True),
            ("GET", r"/v1/events/(?P<id>[^/]+)", s.retrieve_event, True),
        ]
        return [_Route(m, re.compile(p + r"\Z"), fn, c) for m, p, fn, c in table]

    def _authenticate(self, h: _Handler) -> str:
        header = h.headers.get("Authorization") or ""
        key = ""
        if header.startswith("Bearer "):
            key = header[7:].strip()
        elif header.startswith("Basic "):  # curl -u sk_test_...:
            with contextlib.suppress(ValueError, binascii.Error):
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        if not key:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        if not key.startswith(("sk_", "rk_")) or (
            self.api_keys is not None and key not in self.api_keys
        ):
            raise ApiError(
                401,
                f"Invalid API Key provided: {key[:8]}{'*' * 4}{key[-4:]}",
                code="api_key_invalid",
            )
        return key

    def _api(self, h, method, path, query, raw, request_id) -> None:
        idem_key = h.headers.get("Idempotency-Key") or None
        account = h.headers.get("Stripe-Account") or None
        record: dict[str, Any] = {
            "request_id": request_id,
            "method": method,
            "path": path,
            "idempotency_key": idem_key,
            "account": account,
            "status": None,
            "replayed": False,
            "fault": None,
            "dropped": False,
        }
        headers = {"Stripe-Version": h.headers.get("Stripe-Version") or API_VERSION}
        if idem_key:
            headers["Idempotency-Key"] = idem_key

        def answer(status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            record["status"] = status
            self._record(**record)
            self._send(h, status, body, request_id, headers={**headers, **(extra or {})})

        def drop() -> None:
            record["dropped"] = True
            self._record(**record)
            raise _Drop

        # Nothing below is stored under the idempotency key until ctx.begin().
        try:
            api_key = self._authenticate(h)
            if not self.rate_limiter.allow():
                raise _rate_limited()
        except ApiError as e:
            return answer(e.status, _dumps(e.body()), e.headers)
        if self.latency_ms:
            self._sleep(self.latency_ms / 1000)

        try:
            params, pairs = decode_form(query if method == "GET" else raw)
        except ApiError as e:
            return answer(e.status, _dumps(e.body()))
        route, args = self._match(method, path)
        if route is None:
            err = ApiError(
                404,
                f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/.",
            )
            return answer(404, _dumps(err.body()))
        if account is not None:
            if not route.connected:
                err = ApiError(
                    400,
                    f"The sandbox does not serve {method} {path} on a connected account; drop "
                    "the Stripe-Account header.",
                )
                return answer(400, _dumps(err.body()))
            with self.state.lock:
                known = account in self.state.accounts
            if not known:
                err = ApiError(
                    403,
                    f"The provided key '{api_key[:8]}****{api_key[-4:]}' does not have access "
                    f"to account '{account}' (or that account does not exist). Application "
                    "access may have been revoked.",
                    code="account_invalid",
                )
                return answer(403, _dumps(err.body()))

        flat = {k: v for k, v in params.items() if isinstance(v, str)}
        fault = self.faults.pick_request(method=method, path=path, account=account, params=flat)
        if fault is not None:
            record["fault"] = fault.kind
            if fault.kind == "drop_before":
                fault.triggered.set()
                drop()
            if fault.kind == "rate_limit":
                fault.triggered.set()
                err = _rate_limited()
                return answer(429, _dumps(err.body()), _should_retry(fault.should_retry))
            if fault.kind == "error" and fault.should_retry:
                fault.triggered.set()
                return answer(
                    fault.status, _dumps(_server_error(fault).body()), _should_retry(True)
                )

        scope = (api_key, account, idem_key) if method == "POST" and idem_key else None
        fingerprint = (method, path, tuple(pairs))
        ctx = RequestContext(
            method=method,
            path=path,
            api_key=api_key,
            account=account,
            idempotency_key=idem_key,
            request_id=request_id,
            fault=fault,
        )

        delayed = False

        def begin() -> None:
            nonlocal delayed
            if scope is not None:
                self.idempotency.claim(scope, fingerprint, request_id)
            ctx.started = True
            if fault is not None and fault.kind == "delay" and fault.phase == "before_commit":
                delayed = True
                fault.triggered.set()
                self._sleep(fault.delay_ms / 1000, fault)
            if fault is not None and fault.kind == "error" and not fault.commit:
                fault.triggered.set()
                raise _server_error(fault)

        ctx.begin = begin
        extra: dict[str, str] = {}
        try:
            try:
                data = route.handler(ctx, params, **args)
                status = 200
                if fault is not None and fault.kind == "error":  # committed, then failed
                    fault.triggered.set()
                    raise _server_error(fault)
            except ApiError as e:
                status, data, extra = e.status, e.body(), dict(e.headers)
            except Replay:
                raise
            except Exception:
                log.exception("sandbox handler crashed on %s %s", method, path)
                status = 500
                data = ApiError(500, "An unknown error occurred", type="api_error").body()
            body = _dumps(data)
            if fault is not None and fault.kind in ("balance_insufficient", "cannot_receive"):
                fault.triggered.set()
            if scope is not None and ctx.started:
                self.idempotency.finish(scope, status=status, body=body, headers=extra)
        except Replay as replay:
            stored = replay.stored
            status, body = stored.status, stored.body
            extra = {
                **stored.headers,
                "Idempotent-Replayed": "true",
                "Original-Request": stored.request_id,
            }
            record["replayed"] = True

        if fault is not None and fault.kind == "drop_after":
            fault.triggered.set()
            drop()
        if fault is not None and fault.kind == "delay" and not delayed:
            # after_commit, or a request that never reached begin() (a GET, a refusal)
            fault.triggered.set()
            self._sleep(fault.delay_ms / 1000, fault)
        answer(status, body, extra)

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method != method:
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None, {}

    # -- hosted onboarding -------------------------------------------------------------

    def _onboarding(self, h, method, path, query, raw, request_id) -> None:
        m = re.fullmatch(r"/onboarding/([A-Za-z0-9_-]+)(/complete)?", path)
        if not m:
            return self._send(
                h,
                404,
                message("Not found", "No such page."),
                request_id,
                content_type="text/html; charset=utf-8",
            )
        token, complete = m.group(1), bool(m.group(2))
        html = "text/html; charset=utf-8"
        if not complete and method == "GET":
            outcome, link = self.state.visit_link(token)
            auto = dict(parse_qsl(query)).get("auto")
            if outcome == "open" and auto in ("1", "exit"):
                outcome, link = self.state.finish_link(token, complete=auto == "1")
        elif complete and method == "POST":
            result = dict(parse_qsl(raw)).get("result", "complete")
            outcome, link = self.state.finish_link(token, complete=result == "complete")
        else:
            return self._send(
                h,
                405,
                message("Method not allowed", "Use the form."),
                request_id,
                content_type=html,
            )
        if outcome == "unknown" or link is None:
            return self._send(
                h,
                404,
                message("Link not found", "This set-up link does not exist."),
                request_id,
                content_type=html,
            )
        if outcome == "open":
            return self._send(h, 200, page(token, link["account"]), request_id, content_type=html)
        target = link["return_url"] if outcome == "return" else link["refresh_url"]
        self._send(h, 302, b"", request_id, content_type=html, headers={"Location": target})

    # -- /_sandbox control API ---------------------------------------------------------

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
                h, 404, _error_body(f"No control endpoint {method} {path}."), request_id
            )
        except KeyError as e:
            return self._send_json(h, 404, _error_body(f"Not found: {e}"), request_id)
        except (ValueError, TypeError) as e:
            return self._send_json(h, 400, _error_body(str(e)), request_id)
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
            balance = dict(self.state.platform_balance)
        return {
            "counts": counts,
            "balance": balance,
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
        return {
            "amount": self.balance(q.get("currency", "usd"), q.get("account")),
            "currency": q.get("currency", "usd"),
        }

    def _c_set_balance(self, body, query):
        amount = body.get("amount")
        if not isinstance(amount, int):
            raise ValueError("amount is integer cents")
        currency = body.get("currency", "usd")
        self.set_balance(amount, currency, body.get("account"))
        return {"amount": self.balance(currency, body.get("account")), "currency": currency}

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


def _dumps(data: Any) -> bytes:
    return json.dumps(data, indent=2).encode()


def _error_body(text: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": text}}


def _rate_limited() -> ApiError:
    return ApiError(
        429,
        "Too many requests hit the API too quickly. We recommend an exponential backoff of "
        "your requests.",
        code="rate_limit",
    )


def _server_error(rule: FaultRule) -> ApiError:
    return ApiError(
        rule.status,
        "An unknown error occurred" if rule.status != 503 else "Service temporarily unavailable.",
        type="api_error",
        headers=_should_retry(rule.should_retry),
    )


def _should_retry(value: bool | None) -> dict[str, str]:
    return {} if value is None else {"Stripe-Should-Retry": "true" if value else "false"}
