"""Stripe sandbox fixtures: a local Stripe-compatible server and SDK clients pointed at it.

Loaded for the whole suite by ``tests/conftest.py`` (``pytest_plugins``).

``stripe_sandbox`` is a fresh ``SandboxServer`` on a free 127.0.0.1 port for each test;
``stripe_client`` is a real ``stripe.StripeClient`` that talks to it over HTTP;
``make_stripe_client`` builds more (other retries, a shorter timeout);
``webhook_receiver`` is a tiny HTTP endpoint that records what the sandbox delivers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from stripe_sandbox import SandboxServer

API_KEY = "sk_test_honora"
WEBHOOK_SECRET = "whsec_test_honora_sandbox"
# Stripe's test mode starts at zero; the test funds it, as a platform does with bank
# top-ups (bank_account money, what Honora's transfers draw from). A test about
# underfunding sets the balance itself (``stripe_sandbox.set_balance``).
TEST_FUNDS = 10_000_000  # $100,000.00 in cents
TEST_FUNDS_SOURCE_TYPE = "bank_account"


@pytest.fixture
def stripe_sandbox(monkeypatch):
    server = SandboxServer(port=0, balance=TEST_FUNDS, balance_source_type=TEST_FUNDS_SOURCE_TYPE)
    server.start()
    # Module-level SDK calls must not reach stripe.com either.
    for name in ("api_base", "connect_api_base", "upload_api_base", "meter_events_api_base"):
        monkeypatch.setattr(stripe, name, server.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    yield server
    server.stop()


@pytest.fixture
def make_stripe_client(stripe_sandbox):
    sessions: list[requests.Session] = []

    def make(
        *, max_network_retries: int = 0, timeout: float = 5.0, api_key: str = API_KEY
    ) -> stripe.StripeClient:
        session = requests.Session()
        session.trust_env = False  # never an HTTP(S)_PROXY from the environment
        sessions.append(session)
        url = stripe_sandbox.url
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": url, "connect": url, "files": url, "meter_events": url},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout, session=session),
        )

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def stripe_client(make_stripe_client):
    return make_stripe_client(max_network_retries=0)


class WebhookReceiver:
    """Records every delivery (raw body and headers). With ``verify_secret`` set it answers
    400 to a delivery whose signature does not verify, as the application would."""

    def __init__(self) -> None:
        self.verify_secret: str | None = None
        self.statuses: deque[int] = deque()  # scripted answers, then 200
        self.received: list[dict] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._record(self, raw)

            def log_message(self, format, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/stripe/webhook"

    def _record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        header = handler.headers.get("Stripe-Signature")
        with self._cond:
            status = self.statuses.popleft() if self.statuses else 200
        if status == 200 and self.verify_secret is not None:
            try:
                stripe.WebhookSignature.verify_header(raw, header, self.verify_secret, 300)
            except stripe.SignatureVerificationError:
                status = 400
        # recorded before answering, so a drained sandbox means a complete record here
        with self._cond:
            self.received.append(
                {
                    "raw": raw,
                    "signature": header,
                    "event": json.loads(raw),
                    "status": status,
                }
            )
            self._cond.notify_all()
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def accepted(self, event_type: str | None = None) -> list[dict]:
        with self._cond:
            return [
                r
                for r in self.received
                if r["status"] == 200 and event_type in (None, r["event"]["type"])
            ]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count and time.monotonic() < deadline:
                self._cond.wait(0.05)
            return list(self.received)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def webhook_receiver(stripe_sandbox):
    """A receiver registered with the sandbox under ``WEBHOOK_SECRET``."""
    receiver = WebhookReceiver()
    stripe_sandbox.webhooks.add_endpoint(receiver.url, WEBHOOK_SECRET)
    yield receiver
    receiver.close()
