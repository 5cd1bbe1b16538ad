"""Rate limits: writes and reads per user (or IP), failed authentication per IP."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

SAFE = ("GET", "HEAD", "OPTIONS")


class _PerUserThrottle(SimpleRateThrottle):
    methods: tuple[str, ...] = ()

    def get_cache_key(self, request, view):
        if self.methods and request.method not in self.methods:
            return None
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle_{self.scope}_{ident}"


class WriteThrottle(_PerUserThrottle):
    scope = "writes"
    methods = ("POST", "PUT", "PATCH", "DELETE")


class ReadThrottle(_PerUserThrottle):
    scope = "reads"
    methods = SAFE


class AuthFailureThrottle(SimpleRateThrottle):
    """Counts failed token sign-ins per IP; see api.authentication."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return f"throttle_auth_{self.get_ident(request)}"

    def blocked(self, request) -> float | None:
        """Seconds to wait if this IP failed too often, else None (does not count)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.wait()
        return None

    def record_failure(self, request) -> None:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        history = self.cache.get(self.key, [])
        history.insert(0, self.now)
        self.cache.set(self.key, history, self.duration)
