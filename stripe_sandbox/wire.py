"""The sandbox's HTTP plumbing: the threaded server, its request handler, routes, the
rate limiter, and the JSON and error bodies every part answers with."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from .errors import ApiError
from .faults import FaultRule

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
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., dict[str, Any]]
    connected: bool = False  # may be called on a connected account (Stripe-Account)


class Drop(Exception):
    """Close the connection without answering."""


class RequestSink(Protocol):
    """What the HTTP server hands every request to: the ``SandboxServer``."""

    verbose: bool

    def _handle(self, handler: Handler, method: str) -> None: ...


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, sandbox: RequestSink):
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: SandboxHTTPServer

    def do_GET(self):
        self.server.sandbox._handle(self, "GET")

    def do_POST(self):
        self.server.sandbox._handle(self, "POST")

    def do_DELETE(self):
        self.server.sandbox._handle(self, "DELETE")

    def log_message(self, format, *args):
        if self.server.sandbox.verbose:
            sys.stderr.write(f"[sandbox] {self.address_string()} {format % args}\n")


def dumps(data: Any) -> bytes:
    return json.dumps(data, indent=2).encode()


def error_body(text: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": text}}


def rate_limited() -> ApiError:
    return ApiError(
        429,
        "Too many requests hit the API too quickly. We recommend an exponential backoff of "
        "your requests.",
        code="rate_limit",
    )


def server_error(rule: FaultRule) -> ApiError:
    return ApiError(
        rule.status,
        "An unknown error occurred" if rule.status != 503 else "Service temporarily unavailable.",
        type="api_error",
        headers=should_retry(rule.should_retry),
    )


def should_retry(value: bool | None) -> dict[str, str]:
    return {} if value is None else {"Stripe-Should-Retry": "true" if value else "false"}
