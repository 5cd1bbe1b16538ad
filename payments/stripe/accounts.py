"""Consultants' Stripe connected accounts: onboarding, and what Stripe says of them."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

import stripe
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from consultants.models import Consultant, PayoutMethod
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from payments import actions
from payments.models import StripeAccount, StripeSetupFailure
from payments.stripe.client import StripeNotConfigured, stripe_client
from payments.stripe.countries import (
    CountryRefused,
    consultant_countries,
    country_name,
    service_agreement,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from stripe.params import AccountCreateParams

    from accounts.models import User

log = logging.getLogger("payments")

# Stripe's messages about Honora's requests hold nothing personal (Honora sends nothing
# personal); they are still capped before they are logged or kept.
STRIPE_MESSAGE_MAX = 500


def stripe_account_params(*, country: str, metadata: dict[str, str] | None = None) -> dict:
    """What Honora asks Stripe for when it opens a consultant's connected account.

    Express, in the consultant's ``country``, with the service agreement the platform's
    and the consultant's countries call for (``payments/stripe/countries.py``: full for the
    same country, recipient for an allowed cross-border one; CountryRefused otherwise), and
    only the ``transfers`` capability: Honora pays its consultants and takes no payments
    for them, and a recipient account may not ask for ``card_payments`` at all. Shared with
    ``manage.py stripe_smoke``.
    """
    agreement = service_agreement(platform=settings.STRIPE_PLATFORM_COUNTRY, country=country)
    return {
        "type": "express",
        "country": country,
        "capabilities": {"transfers": {"requested": True}},
        "tos_acceptance": {"service_agreement": agreement},
        "metadata": dict(metadata or {}),
    }


def allowed_countries() -> list[tuple[str, str]]:
    """(code, name) of the countries a consultant may choose, the platform's first."""
    return [(c, country_name(c)) for c in consultant_countries(settings.STRIPE_PLATFORM_COUNTRY)]


def stripe_error_details(exc: stripe.StripeError) -> dict:
    """Stripe's own words about a refused call: code, type, HTTP status, request id, message."""
    error = getattr(exc, "error", None)
    message = (getattr(error, "message", None) or exc.user_message or str(exc) or "").strip()
    return {
        "code": str(exc.code or getattr(error, "code", None) or "")[:100],
        "error_type": str(getattr(error, "type", None) or type(exc).__name__)[:100],
        "http_status": exc.http_status,
        "request_id": str(exc.request_id or "")[:100],
        "message": message[:STRIPE_MESSAGE_MAX],
    }


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
    country: str | None = None,
    return_url: str | None = None,
    refresh_url: str | None = None,
) -> str:
    """The URL of a fresh Stripe onboarding link for ``consultant`` (Express).

    Creates the connected account first when the consultant has none (one per
    consultant: the creation carries an idempotency key made from the consultant's
    id, so two clicks at once create one account), in ``country`` (the platform's when
    not given; only the countries ``allowed_countries`` lists). Once the account exists
    its country is settled: Stripe never changes an account's country, so neither does
    this path (a different ``country`` is refused; finance must start over in Stripe).
    The link is single-use and expires within minutes, so it is made when asked for;
    the Stripe calls run outside any transaction. When Stripe refuses, its code and
    message are logged and kept for finance (``StripeSetupFailure``); the caller gets a
    plain message.
    """
    if not (by and by.is_authenticated):
        raise NotAllowed(_("Sign in first."))
    if by.pk != consultant.user_id and not by.has_perm("payments.access_finance"):
        raise NotAllowed(_("Only the consultant or finance can set up direct deposit."))
    if consultant.payout_method != PayoutMethod.STRIPE:
        raise ValidationFailed(
            _("Choose direct deposit as the payout method first."), field="payout_method"
        )
    account = StripeAccount.objects.filter(consultant=consultant).first()
    wanted = (country or "").strip().upper()
    if account is not None:
        if wanted and account.country and wanted != account.country:
            raise ValidationFailed(
                _(
                    "Direct deposit is already being set up for %(country)s; the country "
                    "cannot change now. Ask the finance team if it is wrong."
                )
                % {"country": country_name(account.country)},
                field="country",
            )
        params = None
    else:
        wanted = wanted or settings.STRIPE_PLATFORM_COUNTRY
        try:
            params = stripe_account_params(
                country=wanted,
                # An opaque id only: the consultant gives Stripe their details themselves.
                metadata={"honora_consultant": str(consultant.public_id)},
            )
        except CountryRefused:
            raise ValidationFailed(
                _("Direct deposit is not available for that country. Choose one from the list."),
                field="country",
            ) from None
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
    step = StripeSetupFailure.Step.LINK
    try:
        if account is None:
            step = StripeSetupFailure.Step.ACCOUNT
            created = client.v1.accounts.create(
                params=cast("AccountCreateParams", params),
                options={"idempotency_key": f"honora-account-{consultant.public_id}"},
            )
            account = stripe_account_save(consultant=consultant, account=created.to_dict(), by=by)
            step = StripeSetupFailure.Step.LINK
        link = client.v1.account_links.create(
            params={
                "account": account.account_id,
                "type": "account_onboarding",
                "refresh_url": refresh_url,
                "return_url": return_url,
            }
        )
    except stripe.StripeError as exc:
        stripe_setup_failed(consultant=consultant, step=step, exc=exc)
        raise StateConflict(
            _("Stripe could not start the set-up just now. Try again in a minute."),
            code="stripe_unavailable",
        ) from None
    return link.url


def stripe_setup_failed(
    *, consultant: Consultant, step: str, exc: stripe.StripeError
) -> StripeSetupFailure:
    """Log what Stripe said (never anything personal) and keep it for finance."""
    details = stripe_error_details(exc)
    log.warning(
        "stripe set-up failed at %s for consultant %s: %s code=%s http_status=%s "
        "request_id=%s message=%s",
        step,
        consultant.public_id,
        details["error_type"],
        details["code"] or "-",
        details["http_status"] or "-",
        details["request_id"] or "-",
        details["message"] or "-",
    )
    return StripeSetupFailure.objects.create(consultant=consultant, step=step, **details)


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
    sa = StripeAccount(
        consultant=consultant,
        account_id=account["id"],
        country=str(account.get("country") or "")[:2].upper(),
        **_account_fields(account),
    )
    stamp(sa, by=by, action=actions.STRIPE_ACCOUNT_CREATED)
    sa.save()
    return sa
