"""Consultants' Stripe connected accounts: onboarding, and what Stripe says of them."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import stripe
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from consultants.models import Consultant, PayoutMethod
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from payments import actions
from payments.models import StripeAccount
from payments.stripe.client import StripeNotConfigured, stripe_client

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

log = logging.getLogger("payments")


def _account_fields(account: dict) -> dict:
    """What Honora keeps of a Stripe account object (and nothing personal)."""
    capabilities = account.get("capabilities") or {}
    requirements = account.get("requirements") or {}
    return {
        "payouts_enabled": bool(account.get("payouts_enabled")),
        "transfers_active": capabilities.get("transfers") == "active",
        "requirements_due": list(requirements.get("currently_due") or []),
        "details_submitted": bool(account.get("details_submitted")),
    }


@transaction.atomic
def stripe_account_apply(*, account: dict, created: int) -> str:
    """What Stripe says of a connected account (``account.updated`` or a fresh read).

    ``created`` orders the news: anything older than what was applied changes nothing.
    """
    sa = StripeAccount.objects.select_for_update().filter(account_id=account.get("id")).first()
    if sa is None:
        return "no local Stripe account"
    if created < sa.last_event_created:
        return "older than what was applied: ignored"
    for name, value in _account_fields(account).items():
        setattr(sa, name, value)
    sa.last_event_created = created
    stamp(sa, by=None, action=actions.STRIPE_ACCOUNT_UPDATED)
    sa.save()
    return "ready" if sa.ready else "not ready"


def stripe_account_refresh(*, account_id: str) -> str:
    """Read the account from Stripe (outside any transaction) and apply it."""
    account = stripe_client().v1.accounts.retrieve(account_id)
    return stripe_account_apply(account=account.to_dict(), created=int(time.time()))


def stripe_onboarding_link(
    *,
    consultant: Consultant,
    by: User | AnonymousUser | None,
    return_url: str | None = None,
    refresh_url: str | None = None,
) -> str:
    """The URL of a fresh Stripe onboarding link for ``consultant`` (Express, recipient).

    Creates the connected account first when the consultant has none (one per
    consultant: the creation carries an idempotency key made from the consultant's
    id, so two clicks at once create one account). The link is single-use and
    expires within minutes, so it is made when asked for; the Stripe calls run
    outside any transaction.
    """
    if not (by and by.is_authenticated):
        raise NotAllowed(_("Sign in first."))
    if by.pk != consultant.user_id and not by.has_perm("payments.access_finance"):
        raise NotAllowed(_("Only the consultant or finance can set up direct deposit."))
    if consultant.payout_method != PayoutMethod.STRIPE:
        raise ValidationFailed(
            _("Choose direct deposit as the payout method first."), field="payout_method"
        )
    site = settings.SITE_URL
    return_url = return_url or f"{site}/me/payments/?stripe=return"
    refresh_url = refresh_url or f"{site}/me/payments/?stripe=refresh"
    for name, url in (("return_url", return_url), ("refresh_url", refresh_url)):
        if not url.startswith(("https://", "http://")):
            raise ValidationFailed(_("Give a full web address."), field=name)
    try:
        client = stripe_client()
    except StripeNotConfigured:
        raise StateConflict(
            _("Direct deposit through Stripe is not available right now."), code="stripe_off"
        ) from None
    try:
        account = StripeAccount.objects.filter(consultant=consultant).first()
        if account is None:
            created = client.v1.accounts.create(
                params={
                    "type": "express",
                    "country": settings.STRIPE_CONNECT_COUNTRY,
                    "capabilities": {"transfers": {"requested": True}},
                    "tos_acceptance": {"service_agreement": "recipient"},
                    # An opaque id only: the consultant gives Stripe their details themselves.
                    "metadata": {"honora_consultant": str(consultant.public_id)},
                },
                options={"idempotency_key": f"honora-account-{consultant.public_id}"},
            )
            account = stripe_account_save(consultant=consultant, account=created.to_dict(), by=by)
        link = client.v1.account_links.create(
            params={
                "account": account.account_id,
                "type": "account_onboarding",
                "refresh_url": refresh_url,
                "return_url": return_url,
            }
        )
    except stripe.StripeError as exc:
        log.warning("stripe onboarding link failed: %s", type(exc).__name__)
        raise StateConflict(
            _("Stripe could not start the set-up just now. Try again in a minute."),
            code="stripe_unavailable",
        ) from None
    return link.url


@transaction.atomic
def stripe_account_save(*, consultant: Consultant, account: dict, by: User | None) -> StripeAccount:
    """Keep ``account`` (a Stripe account object just created) as the consultant's.

    The consultant's first account wins: if they have one already, it is returned
    and ``account`` is not stored. Also what the demo uses to tie its consultants
    to their sandbox accounts.
    """
    Consultant.objects.select_for_update().get(pk=consultant.pk)
    existing = StripeAccount.objects.filter(consultant=consultant).first()
    if existing is not None:
        return existing
    sa = StripeAccount(consultant=consultant, account_id=account["id"], **_account_fields(account))
    stamp(sa, by=by, action=actions.STRIPE_ACCOUNT_CREATED)
    sa.save()
    return sa
