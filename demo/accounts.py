"""Demo-only helpers, refused when DEBUG is off."""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import CommandError


def refuse_unless_debug(command_name: str) -> None:
    if not settings.DEBUG:
        raise CommandError(f"{command_name} is for demos and refuses to run when DEBUG is off.")


def enroll_totp(user, secret: str) -> list[str]:
    """Enroll ``user`` in TOTP with ``secret``; return their recovery codes."""
    Authenticator.objects.filter(user=user).delete()
    TOTP.activate(user, secret)
    return RecoveryCodes.activate(user).generate_codes()


def current_totp_code(user) -> str:
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        raise CommandError(f"{user.email} has no authenticator enrolled.")
    secret = decrypt(authenticator.data["secret"])
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))
