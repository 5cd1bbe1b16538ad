"""Writes about accounts: personal API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import get_digest_token
from knox.settings import CONSTANTS

from accounts import actions
from accounts.mfa import needs_mfa_setup
from accounts.models import ApiToken, User
from core.errors import NotAllowed, ValidationFailed
from core.history import stamp

MAX_TOKEN_DAYS = 365
# A consultant's token reaches their own records from wherever it is kept: it lasts
# no longer than a month, so a forgotten one dies on its own.
MAX_CONSULTANT_TOKEN_DAYS = 30


def is_consultant_account(user: User) -> bool:
    """A person with a consultant record and no staff role: the record decides, not a group."""
    return getattr(user, "consultant", None) is not None and not user.is_staff_member


def max_token_days(user: User) -> int:
    return MAX_CONSULTANT_TOKEN_DAYS if is_consultant_account(user) else MAX_TOKEN_DAYS


@transaction.atomic
def api_token_create(*, user: User, name: str, days: int = 30) -> tuple[ApiToken, str]:
    """Create a personal token; returns the row and the token text, shown only once."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            _("Give the token a name, so you can recognise it later."), field="name"
        )
    if len(name) > 80:
        raise ValidationFailed(_("Keep the name under 80 characters."), field="name")
    if not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(
            _("A token lasts between 1 and %(max)s days.") % {"max": MAX_TOKEN_DAYS}, field="days"
        )
    if not user.is_active:
        raise NotAllowed(_("This account is not active."))
    if days > max_token_days(user):
        raise ValidationFailed(
            _("Your tokens last at most %(max)s days.") % {"max": MAX_CONSULTANT_TOKEN_DAYS},
            field="days",
        )
    if needs_mfa_setup(user):
        raise NotAllowed(
            _("Set up two-step sign-in before creating API tokens for a finance or admin account."),
            code="mfa_required",
        )
    digest, text = get_digest_token()
    token = ApiToken(
        digest=digest,
        token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH],
        user=user,
        expiry=timezone.now() + timedelta(days=days),
        name=name,
    )
    stamp(token, by=user, action=actions.API_TOKEN_CREATED)
    token.save(force_insert=True)
    return token, text


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User) -> None:
    if token.user_id != by.pk:
        raise NotAllowed(_("You can only revoke your own tokens."))
    stamp(token, by=by, action=actions.API_TOKEN_REVOKED)
    token.delete()
