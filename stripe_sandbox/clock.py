"""The sandbox's movable clock: wall time plus an offset that tests can advance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SandboxClock:
    """Stripe-side time. ``created`` stamps, link expiry and idempotency-key expiry read it.

    Webhook signatures use real wall time instead, because the receiver checks them
    against its own clock (Stripe's ``t=`` is when the attempt was sent). Failed webhook
    deliveries are retried on this clock (``webhooks.RETRY_SCHEDULE``): advancing it by
    hours or days makes the retries due by then go out at once.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever the clock is moved (webhook retries fall due at once)."""
        with self._lock:
            self._listeners.append(listener)

    def _moved(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def timestamp(self) -> int:
        return int(self.now())

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def advance(
        self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> float:
        delta = seconds + 60 * minutes + 3600 * hours + 86400 * days
        if delta < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += delta
            offset = self._offset
        self._moved()
        return offset

    def reset(self, offset: float = 0.0) -> None:
        with self._lock:
            self._offset = offset
        self._moved()
