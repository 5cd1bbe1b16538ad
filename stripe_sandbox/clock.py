"""The sandbox's movable clock: wall time plus an offset that tests can advance."""

from __future__ import annotations

import threading
import time


class SandboxClock:
    """Stripe-side time. ``created`` stamps, link expiry and idempotency-key expiry read it.

    Webhook signatures use real wall time instead, because the receiver checks them
    against its own clock.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

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
            return self._offset

    def reset(self, offset: float = 0.0) -> None:
        with self._lock:
            self._offset = offset
