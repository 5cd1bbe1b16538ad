"""Stripe's idempotency rules (API v1), scoped by (account, key).

The account is the platform (``None``) or the connected account named in
``Stripe-Account``; the API key plays no part, so a retry made with a rotated secret key
replays what the first request did (RULES.md, "Idempotency").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .clock import SandboxClock
from .errors import ApiError

TTL_SECONDS = 24 * 3600

Scope = tuple[str | None, str]


@dataclass
class StoredResponse:
    fingerprint: tuple
    created: float
    request_id: str
    running: bool = True
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Replay(Exception):
    """Raised to answer with a stored response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__(stored.request_id)
        self.stored = stored


class IdempotencyStore:
    def __init__(self, clock: SandboxClock, ttl: float = TTL_SECONDS) -> None:
        self.clock = clock
        self.ttl = ttl
        self._entries: dict[Scope, StoredResponse] = {}
        self._lock = threading.Lock()

    def claim(self, scope: Scope, fingerprint: tuple, request_id: str) -> None:
        """Reserve the key for this request, or raise Replay / an idempotency error."""
        with self._lock:
            self._expire()
            entry = self._entries.get(scope)
            if entry is None:
                self._entries[scope] = StoredResponse(
                    fingerprint=fingerprint, created=self.clock.now(), request_id=request_id
                )
                return
            key = scope[-1]
            if entry.fingerprint != fingerprint:
                raise ApiError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            if entry.running:
                raise ApiError(
                    409,
                    "There is currently another in-progress request using this Stripe "
                    f"Idempotency Key ('{key}'). Please try again later.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            raise Replay(entry)

    def finish(
        self, scope: Scope, *, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        with self._lock:
            entry = self._entries.get(scope)
            if entry is not None:
                entry.running = False
                entry.status = status
                entry.body = body
                entry.headers = dict(headers or {})

    def release(self, scope: Scope) -> None:
        """Forget a claim whose request ended before any work (nothing to replay)."""
        with self._lock:
            entry = self._entries.get(scope)
            if entry is not None and entry.running:
                del self._entries[scope]

    def _expire(self) -> None:
        cutoff = self.clock.now() - self.ttl
        for scope in [s for s, e in self._entries.items() if not e.running and e.created <= cutoff]:
            del self._entries[scope]

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [
                {
                    "scope": list(scope),
                    "fingerprint": [
                        entry.fingerprint[0],
                        entry.fingerprint[1],
                        [list(p) for p in entry.fingerprint[2]],
                    ],
                    "created": entry.created,
                    "request_id": entry.request_id,
                    "status": entry.status,
                    "body": entry.body.decode(),
                    "headers": entry.headers,
                }
                for scope, entry in self._entries.items()
                if not entry.running
            ]

    def restore(self, items: list[dict]) -> None:
        with self._lock:
            self._entries = {}
            for item in items:
                method, path, pairs = item["fingerprint"]
                # A state file from before keys were scoped by account: (api key, account, key).
                scope = tuple(item["scope"])[-2:]
                self._entries[scope] = StoredResponse(  # type: ignore[index]
                    fingerprint=(method, path, tuple(tuple(p) for p in pairs)),
                    created=item["created"],
                    request_id=item["request_id"],
                    running=False,
                    status=item["status"],
                    body=item["body"].encode(),
                    headers=item["headers"],
                )

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
