"""Error reports reach Sentry without personal data: a real sentry-sdk, a local receiver.

A small HTTP server plays Sentry (DSN http://public@127.0.0.1:PORT/1). A view fails
while a W-9's taxpayer id is in its POST body, the consultant's e-mail in the query
string and the exception's text, and the legal name in local variables; the
envelope sentry-sdk posts is read back and searched for each value.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from rest_framework.test import APIClient

from accounts.services import api_token_create
from consultants.services import vault_update
from ops import sentry

pytestmark = pytest.mark.django_db

LEGAL_NAME = "Adelaide Quintero"
TIN = "612-88-4093"
NEW_TIN = "987-65-4329"


class FakeSentry:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "deflate":
                    raw = zlib.decompress(raw)
                elif encoding == "br":
                    import brotli

                    raw = brotli.decompress(raw)
                owner.bodies.append(raw)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server.server_address[1]}/1"

    def events(self) -> list[dict]:
        found = []
        for body in self.bodies:
            lines = body.split(b"\n")
            # header, then (item header, payload) pairs
            for i in range(1, len(lines) - 1, 2):
                try:
                    header = json.loads(lines[i])
                except ValueError:
                    continue
                if header.get("type") == "event":
                    found.append(json.loads(lines[i + 1]))
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_sentry():
    receiver = FakeSentry()
    sentry.init(dsn=receiver.dsn, environment="ci", release="honora@test", traces_sample_rate=0.0)
    yield receiver
    sentry_sdk.get_client().close(timeout=5)
    sentry_sdk.init(dsn=None)
    receiver.close()


def test_an_error_arrives_with_no_personal_data(fake_sentry, consultant, finance, monkeypatch):
    from consultants import services

    vault_update(
        consultant=consultant, by=finance, reason="", legal_name=LEGAL_NAME, taxpayer_id=TIN
    )

    def taxform_receive(*, consultant, by, form_type, received_on, tin, reason):
        legal_name = consultant.vault.legal_name  # in the frame's local variables
        email = consultant.email
        assert legal_name == LEGAL_NAME
        # Like a library error that echoes the values it was given.
        raise RuntimeError(f"could not record the W-9 of {email} ({tin})")

    monkeypatch.setattr(services, "taxform_receive", taxform_receive)
    _row, token = api_token_create(user=finance, name="tests", days=1)
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    api.cookies["crumb"] = consultant.email
    response = api.post(
        f"/api/v1/consultants/{consultant.public_id}/tax-form/?email={consultant.email}",
        {"form_type": "W-9", "received_on": "2026-02-01", "tin": NEW_TIN, "reason": LEGAL_NAME},
        format="json",
        headers={"X-Contact": consultant.email},
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=30)
    deadline = time.monotonic() + 60
    while not fake_sentry.events() and time.monotonic() < deadline:
        sentry_sdk.flush(timeout=5)
    [event] = [e for e in fake_sentry.events() if e.get("exception")]

    # The error arrived, with what an operator needs.
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert "could not record the W-9 of" in exception["value"]
    assert event["environment"] == "ci" and event["release"] == "honora@test"
    # Only the method and the path may be kept (the test client has no WSGI environ, so
    # sentry-sdk knows neither here; a real server gives both).
    assert set(event.get("request", {})) <= {"method", "url"}
    assert "?" not in str(event.get("request", {}).get("url", ""))
    frames = exception["stacktrace"]["frames"]
    assert any(f["function"] == "taxform_receive" for f in frames)
    assert all("vars" not in f for f in frames)

    # And nothing personal or secret, anywhere in what was sent.
    raw = b"\n".join(fake_sentry.bodies).decode()
    for secret in (
        consultant.email,
        finance.email,
        LEGAL_NAME,
        TIN,
        NEW_TIN,
        NEW_TIN.replace("-", ""),
        token,
        "Quintero",
    ):
        assert secret not in raw, f"{secret!r} was sent to Sentry"


def test_scrub_strips_what_could_carry_personal_data():
    event = {
        "request": {
            "method": "POST",
            "url": "https://honora.example.org/me/?q=ana@example.org",
            "query_string": "q=ana@example.org",
            "data": {"tin": "123-45-6789"},
            "cookies": {"sessionid": "abc"},
            "headers": {"Authorization": "Token hon_x", "Cookie": "sessionid=abc"},
            "env": {"REMOTE_ADDR": "10.0.0.1"},
        },
        "user": {"id": "7", "email": "ana@example.org", "ip_address": "10.0.0.1"},
        "extra": {"email": "ana@example.org"},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "duplicate key: DETAIL: Key (email)=(ana@example.org) exists; "
                    "tin 123456789 and 12-3456789",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"tin": "123-45-6789"}}]},
                }
            ]
        },
        "logentry": {"message": "sent to %s", "params": ["ana@example.org"]},
        "breadcrumbs": {
            "values": [
                {"category": "query", "message": "SELECT 1", "data": {"params": ["ana@x.org"]}}
            ]
        },
    }
    scrubbed = sentry.scrub(event)
    text = json.dumps(scrubbed)
    for secret in (
        "ana@",
        "123-45-6789",
        "123456789",
        "12-3456789",
        "hon_x",
        "sessionid",
        "10.0.0.1",
    ):
        assert secret not in text
    assert scrubbed["request"] == {"method": "POST", "url": "https://honora.example.org/me/"}
    assert scrubbed["exception"]["values"][0]["value"].startswith(
        "duplicate key: DETAIL: Key (email)=([redacted]) exists"
    )
    assert scrubbed["breadcrumbs"]["values"][0]["message"] == "SELECT 1"
