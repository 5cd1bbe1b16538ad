"""API sign-in: personal tokens (django-rest-knox) and the browser session.

Failed token sign-ins are counted per IP; past the limit every token attempt
from that IP is answered 429 with Retry-After until the window passes.
"""

from __future__ import annotations

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import authentication, exceptions

from api.throttles import AuthFailureThrottle


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.authenticate_header(request).lower().encode():
            return None
        throttle = AuthFailureThrottle()
        wait = throttle.blocked(request)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many failed sign-ins.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(request)
            raise

    def authenticate_credentials(self, token):
        try:
            token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser session, with Django's CSRF check on unsafe methods."""
