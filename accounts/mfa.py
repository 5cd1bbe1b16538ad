from __future__ import annotations

from allauth.mfa.models import Authenticator

from accounts.roles import MFA_ROLES


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def needs_mfa_setup(user) -> bool:
    """True for a finance or admin user who has not enrolled an authenticator yet."""
    if not user.is_authenticated:
        return False
    if not (user.has_role(*MFA_ROLES) or user.is_superuser):
        return False
    return not has_totp(user)
