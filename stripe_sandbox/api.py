"""``/v1/...``: the Stripe API itself (authentication, routing to the state's handlers,
faults, idempotency)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import re
from typing import Any

from .errors import ApiError, decode_form
from .idempotency import Replay
from .state import RequestContext
from .wire import (
    API_VERSION,
    Drop,
    Handler,
    Route,
    dumps,
    rate_limited,
    server_error,
    should_retry,
)

log = logging.getLogger(__name__)


class ApiRoutes:
    """The ``/v1`` half of ``SandboxServer``."""

    def _build_routes(self) -> list[Route]:
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
            ("POST", r"/v1/topups", s.create_topup, False),
            ("GET", r"/v1/topups", s.list_topups, False),
            ("GET", r"/v1/topups/(?P<id>[^/]+)", s.retrieve_topup, False),
            ("POST", r"/v1/payouts", s.create_payout, True),
            ("GET", r"/v1/payouts", s.list_payouts, True),
            ("GET", r"/v1/payouts/(?P<id>[^/]+)", s.retrieve_payout, True),
            ("POST", r"/v1/payouts/(?P<id>[^/]+)/cancel", s.cancel_payout, True),
            ("GET", r"/v1/events", s.list_events, True),
            ("GET", r"/v1/events/(?P<id>[^/]+)", s.retrieve_event, True),
        ]
        return [Route(m, re.compile(p + r"\Z"), fn, c) for m, p, fn, c in table]

    def _authenticate(self, h: Handler) -> str:
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
        with self._api_keys_lock:
            known = self.api_keys is None or key in self.api_keys
        if not key.startswith(("sk_", "rk_")) or not known:
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
            raise Drop

        # Nothing below is stored under the idempotency key until ctx.begin().
        try:
            api_key = self._authenticate(h)
            if not self.rate_limiter.allow():
                raise rate_limited()
        except ApiError as e:
            return answer(e.status, dumps(e.body()), e.headers)
        if self.latency_ms:
            self._sleep(self.latency_ms / 1000)

        try:
            params, pairs = decode_form(query if method == "GET" else raw)
        except ApiError as e:
            return answer(e.status, dumps(e.body()))
        route, args = self._match(method, path)
        if route is None:
            err = ApiError(
                404,
                f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/.",
            )
            return answer(404, dumps(err.body()))
        if account is not None:
            if not route.connected:
                err = ApiError(
                    400,
                    f"The sandbox does not serve {method} {path} on a connected account; drop "
                    "the Stripe-Account header.",
                )
                return answer(400, dumps(err.body()))
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
                return answer(403, dumps(err.body()))

        flat = {k: v for k, v in params.items() if isinstance(v, str)}
        fault = self.faults.pick_request(method=method, path=path, account=account, params=flat)
        if fault is not None:
            record["fault"] = fault.kind
            if fault.kind == "drop_before":
                fault.triggered.set()
                drop()
            if fault.kind == "rate_limit":
                fault.triggered.set()
                err = rate_limited()
                return answer(429, dumps(err.body()), should_retry(fault.should_retry))
            if fault.kind == "error" and fault.should_retry:
                fault.triggered.set()
                return answer(fault.status, dumps(server_error(fault).body()), should_retry(True))

        # Stripe scopes a key by account (the platform's, or the connected account named
        # in Stripe-Account), not by API key: a retry after a key rotation replays.
        scope = (account, idem_key) if method == "POST" and idem_key else None
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
                raise server_error(fault)

        ctx.begin = begin
        extra: dict[str, str] = {}
        try:
            try:
                data = route.handler(ctx, params, **args)
                status = 200
                if fault is not None and fault.kind == "error":  # committed, then failed
                    fault.triggered.set()
                    raise server_error(fault)
            except ApiError as e:
                status, data, extra = e.status, e.body(), dict(e.headers)
            except Replay:
                raise
            except Exception:
                log.exception("sandbox handler crashed on %s %s", method, path)
                status = 500
                data = ApiError(500, "An unknown error occurred", type="api_error").body()
            body = dumps(data)
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

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method != method:
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None, {}
