"""Stripe sandbox fixtures: a local Stripe-compatible server and SDK clients pointed at it.

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

from payments.sandbox import SandboxServer

API_KEY = "sk_test_honora"
WEBHOOK_SECRET = "whsec_test_honora_sandbox"


@pytest.fixture
def stripe_sandbox(monkeypatch):
    server = SandboxServer(port=0)
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


# --- Payout execution: Honora pointed at the sandbox, and a small world to pay ----------


@pytest.fixture
def stripe_settings(settings, stripe_sandbox):
    """Honora's Stripe settings aimed at this test's sandbox, with fast retries.

    Tasks go to the dummy backend (recorded, not run) unless a test says otherwise.
    """
    from payments.stripe.client import reset_clients

    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_ENABLED = True
    settings.STRIPE_API_BASE = stripe_sandbox.url
    settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT = 2
    settings.PAYMENTS_RETRY_BASE_SECONDS = 0
    settings.PAYMENTS_CLAIM_MARGIN_SECONDS = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    reset_clients()
    yield settings
    reset_clients()


@pytest.fixture
def paid_hook(monkeypatch):
    """Records the receipts that paid payments enqueue (``issue_receipt``) instead of issuing them."""
    from types import SimpleNamespace

    from payments.documents import tasks as document_tasks

    calls: list[int] = []
    monkeypatch.setattr(document_tasks, "issue_receipt", SimpleNamespace(enqueue=calls.append))
    return calls


class PayoutWorld:
    """Consultants with onboarded sandbox accounts and approved work, and batches to pay."""

    def __init__(self, sandbox, finance, finance2, coordinator):
        self.sandbox = sandbox
        self.finance = finance
        self.finance2 = finance2
        self.coordinator = coordinator
        self._phase = None

    @property
    def phase(self):
        from tests.factories import PhaseFactory

        if self._phase is None:
            self._phase = PhaseFactory()
        return self._phase

    def consultant(self, amounts=("125.00",), *, onboarded=True, account=True, user=None):
        from datetime import date
        from decimal import Decimal

        from django.utils import timezone

        from consultants.models import PayoutMethod, TaxForm
        from engagements.models import Contribution
        from payments.models import StripeAccount
        from tests.factories import ConsultantFactory, ContributionFactory, EngagementFactory

        consultant = ConsultantFactory(payout_method=PayoutMethod.STRIPE, user=user)
        TaxForm.objects.filter(consultant=consultant).update(
            status=TaxForm.Status.RECEIVED, received_on=date(2026, 1, 5)
        )
        if account:
            acct = self.sandbox.create_account(onboarded=onboarded)
            StripeAccount.objects.create(
                consultant=consultant,
                account_id=acct["id"],
                payouts_enabled=onboarded,
                transfers_active=onboarded,
                requirements_due=[] if onboarded else ["external_account"],
                details_submitted=onboarded,
            )
        engagement = EngagementFactory(consultant=consultant, phase=self.phase)
        for amount in amounts:
            ContributionFactory(
                engagement=engagement,
                kind=Contribution.Kind.HONORARIUM,
                quantity=Decimal("1"),
                rate=Decimal(amount),
                amount=Decimal(amount),
                status=Contribution.Status.APPROVED,
                logged_by=self.coordinator,
                approved_by=self.finance2,
                approved_at=timezone.now(),
                date=date(2026, 3, 12),
            )
        return consultant

    def account_id(self, consultant) -> str:
        return consultant.stripe_account.account_id

    def approved_batch(self):
        from datetime import date

        from payments.services.batches import batch_approve, batch_build, batch_submit

        batch = batch_build(by=self.finance, cutoff_date=date(2026, 3, 31))
        batch_submit(batch=batch, by=self.finance)
        return batch_approve(batch=batch, by=self.finance2)

    def executed_batch(self):
        from payments.services.batches import batch_execute

        batch = self.approved_batch()
        return batch_execute(batch=batch, by=self.finance)

    def live_cents_by_group(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for t in self.sandbox.live_transfers():
            groups.setdefault(t["transfer_group"], []).append(t["amount"])
        return groups

    def assert_paid_exactly_once(self, payments) -> None:
        """Stripe's own dump: one live transfer per payment, for its amount, and no other."""
        from payments.models import Payment

        assert self.sandbox.duplicate_live_transfers() == {}
        groups = self.live_cents_by_group()
        expected = {}
        for payment in payments:
            p = Payment.objects.get(pk=payment.pk)
            expected[str(p.public_id)] = [int(p.amount * 100)]
            assert p.status == Payment.Status.PAID, (p.pk, p.status, p.failure_code)
            [live] = self.sandbox.live_transfers(str(p.public_id))
            assert p.transfer_id == live["id"]
            assert live["destination"] == p.consultant.stripe_account.account_id
        assert groups == expected


@pytest.fixture
def payout_world(stripe_settings, stripe_sandbox, finance, finance2, coordinator):
    return PayoutWorld(stripe_sandbox, finance, finance2, coordinator)
