"""Per-role session rules: short idle time for consultants, MFA before money pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.mfa import needs_mfa_setup

# Finance and admin users see money and consultants' data on almost every page, so
# until they enrol an authenticator they reach only what they need to enrol it (the
# account pages), sign out, and the public pages (with the language switch and the
# scripts' messages, which the enrolment page itself uses).
MFA_OPEN_PREFIXES = (
    "/accounts/",
    "/static/",
    "/verify/",
    "/webhooks/",
    "/favicon.ico",
    "/i18n/",
    "/jsi18n/",
)


class RoleSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        # path_info, not path: the rule must hold when Honora is served under a prefix.
        if (
            user is not None
            and user.is_authenticated
            and not request.path_info.startswith(MFA_OPEN_PREFIXES)
            and needs_mfa_setup(user)
        ):
            if request.path_info.startswith("/api/"):
                # The API's error shape (api.exceptions.error_body).
                message = _("Set up two-step sign-in with an authenticator app first.")
                return JsonResponse(
                    {"code": "mfa_required", "message": message, "fields": {}}, status=403
                )
            messages.warning(
                request,
                _("Set up two-step sign-in with an authenticator app before you continue."),
            )
            return redirect("mfa_activate_totp")
        response = self.get_response(request)
        # After the view, so the request that signs a consultant in gets the short
        # session too (allauth sets its own expiry while signing in). A consultant is
        # whoever has a consultant record: the link, not the group, decides.
        # The cheap tests first: an API call with a token has no browser session (and
        # must not leave an empty session row behind on every call), so it never looks
        # up the consultant record at all; nor does staff.
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.session_key is not None
            and not user.is_staff_member
            and getattr(user, "consultant", None) is not None
        ):
            # SESSION_SAVE_EVERY_REQUEST makes this an idle timeout.
            request.session.set_expiry(settings.CONSULTANT_SESSION_IDLE_MINUTES * 60)
        return response


def consultant_language(user) -> str | None:
    """The language a signed-in consultant chose, or None (staff and anonymous:
    the browser decides). Only a language the site offers counts."""
    if user is None or not user.is_authenticated or user.is_staff_member:
        return None
    consultant = getattr(user, "consultant", None)
    language = getattr(consultant, "preferred_language", None)
    return language if language in dict(settings.LANGUAGES) else None


class ConsultantLanguageMiddleware:
    """After sign-in, a consultant's pages speak the consultant's preferred language.

    Runs after LocaleMiddleware (which picked the browser's language: the language
    cookie, then Accept-Language) and AuthenticationMiddleware. The language stays
    active while the response goes back out, so LocaleMiddleware's Content-Language
    header names it too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = consultant_language(getattr(request, "user", None))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
