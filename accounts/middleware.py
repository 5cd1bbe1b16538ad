"""Per-role session rules: short idle time for consultants, MFA before money pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.mfa import needs_mfa_setup

# Pages that carry money or personal data; finance and admin need MFA first.
MFA_GUARDED_PREFIXES = ("/admin/", "/finance/")


class RoleSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        # path_info, not path: the rule must hold when Honora is served under a prefix.
        if (
            user is not None
            and user.is_authenticated
            and request.path_info.startswith(MFA_GUARDED_PREFIXES)
            and needs_mfa_setup(user)
        ):
            messages.warning(
                request,
                _("Set up two-step sign-in with an authenticator app before you continue."),
            )
            return redirect("mfa_activate_totp")
        response = self.get_response(request)
        # After the view, so the request that signs a consultant in gets the short
        # session too (allauth sets its own expiry while signing in). A consultant is
        # whoever has a consultant record: the link, not the group, decides.
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "consultant", None) is not None
            and not user.is_staff_member
        ):
            # SESSION_SAVE_EVERY_REQUEST makes this an idle timeout.
            request.session.set_expiry(settings.CONSULTANT_SESSION_IDLE_MINUTES * 60)
        return response
