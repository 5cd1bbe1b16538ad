"""``/webhooks/stripe/``: what Stripe tells Honora after the fact.

1. The signature is checked on the raw body against every configured secret (any
   match passes, which is how a secret rotates); a timestamp older than the
   tolerance or further in the future than a little clock skew is refused. A bad
   request gets a bare 400 that says nothing about why.
2. Each event id is stored once (a unique constraint), in the same transaction as
   its effect: a duplicate is answered 200 and changes nothing; two copies racing
   each other end with one stored and one rolled back.
3. Effects are short, locked database updates done inline; anything slow (reading
   an account back from Stripe, reversing a transfer) is a task.
4. Events arrive in any order, so every effect is one-way: a late
   ``transfer.created`` never undoes a reversal, an older ``account.updated`` never
   overwrites a newer one.

Only what the effects need is stored (ids, amounts, statuses), never the e-mail
addresses or bank details that some events carry.
"""

from __future__ import annotations

import json
import logging
import time

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.tasks import enqueue_on_commit
from payments.models import StripeAccount, WebhookEvent
from payments.stripe.accounts import stripe_account_apply
from payments.stripe.events import (
    payment_apply_payout,
    payment_apply_transfer_created,
    payment_apply_transfer_reversed,
)

log = logging.getLogger("payments.webhooks")


class BadEvent(Exception):
    """The request is not a genuine, fresh Stripe event (details stay in the server)."""


def _timestamp(header: str) -> int:
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise BadEvent("no timestamp in the signature header")


def verify(
    payload: bytes,
    header: str | None,
    *,
    secrets: list[str] | None = None,
    tolerance: int | None = None,
    max_future: int | None = None,
    now: float | None = None,
) -> dict:
    """The event, if ``payload`` is signed by one of the secrets, recently; else BadEvent."""
    secrets = settings.STRIPE_WEBHOOK_SECRETS if secrets is None else secrets
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS if tolerance is None else tolerance
    max_future = settings.STRIPE_WEBHOOK_MAX_FUTURE_SECONDS if max_future is None else max_future
    now = time.time() if now is None else now
    if not secrets:
        raise BadEvent("no webhook secret is configured")
    if not header:
        raise BadEvent("no signature header")
    try:
        # The SDK decodes the body as UTF-8 while checking: anything else is not an event.
        payload.decode("utf-8")
    except (UnicodeDecodeError, AttributeError):
        raise BadEvent("body is not UTF-8") from None
    timestamp = _timestamp(header)
    if timestamp > now + max_future:
        raise BadEvent("timestamp in the future")
    if timestamp < now - tolerance:
        raise BadEvent("timestamp too old")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
        except (stripe.SignatureVerificationError, ValueError):
            continue
        break
    else:
        raise BadEvent("no signature matches")
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise BadEvent("body is not JSON") from None
    if not (
        isinstance(event, dict)
        and str(event.get("id", "")).startswith("evt_")
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise BadEvent("not an event")
    return event


# --- what is kept of an event ----------------------------------------------------------------

_KEEP = {
    "account": ("id", "payouts_enabled", "details_submitted", "capabilities", "requirements"),
    "transfer": (
        "id",
        "amount",
        "amount_reversed",
        "currency",
        "destination",
        "transfer_group",
        "metadata",
        "reversed",
        "created",
    ),
    "payout": ("id", "amount", "currency", "status", "failure_code", "created", "arrival_date"),
}


def redact(event: dict) -> dict:
    obj = event["data"]["object"]
    kept = {k: obj[k] for k in _KEEP.get(obj.get("object"), ("id",)) if k in obj}
    if "requirements" in kept:
        kept["requirements"] = {"currently_due": (obj["requirements"] or {}).get("currently_due")}
    kept["object"] = obj.get("object")
    return {
        "id": event["id"],
        "type": event["type"],
        "created": event["created"],
        "account": event.get("account"),
        "data": {"object": kept},
    }


# --- effects ------------------------------------------------------------------------------------


def _account_updated(event: dict, obj: dict) -> str:
    account_id = obj.get("id") or event.get("account")
    last = (
        StripeAccount.objects.filter(account_id=account_id)
        .values_list("last_event_created", flat=True)
        .first()
    )
    outcome = stripe_account_apply(account=obj, created=event["created"])
    if last is not None and last == event["created"]:
        # Two events in the same second cannot be ordered: read the account back.
        enqueue_on_commit("payments.tasks.refresh_stripe_account", account_id)
    return outcome


def _effect(event: dict) -> str:
    kind, obj = event["type"], event["data"]["object"]
    if kind == "account.updated":
        return _account_updated(event, obj)
    if kind == "transfer.created":
        return payment_apply_transfer_created(transfer=obj)
    if kind == "transfer.reversed":
        return payment_apply_transfer_reversed(transfer=obj)
    if kind in ("payout.paid", "payout.failed"):
        return payment_apply_payout(
            account_id=event.get("account") or "", payout=obj, failed=kind == "payout.failed"
        )
    return "not handled"


def handle(event: dict) -> str:
    """Apply a verified event once; returns what happened (stored as the outcome)."""
    if WebhookEvent.objects.filter(event_id=event["id"]).exists():
        return "duplicate"
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    outcome = _effect(event)
            except DomainError as exc:
                # A genuine event Honora cannot apply: kept, with why, for finance.
                log.warning("stripe event %s not applied: %s", event["id"], exc.code)
                outcome = f"not applied: {exc.message}"
            WebhookEvent.objects.create(
                event_id=event["id"],
                type=event["type"][:64],
                account=(event.get("account") or "")[:64],
                created=event["created"],
                payload=redact(event),
                outcome=outcome[:200],
            )
    except IntegrityError:
        # The same event, delivered twice at once: the other copy's effect stands.
        if WebhookEvent.objects.filter(event_id=event["id"]).exists():
            return "duplicate"
        raise
    return outcome


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = verify(request.body, request.headers.get("Stripe-Signature"))
    except BadEvent as exc:
        log.warning("stripe webhook refused: %s", exc)
        return HttpResponseBadRequest("Bad request", content_type="text/plain")
    outcome = handle(event)
    log.info("stripe webhook %s %s: %s", event["type"], event["id"], outcome)
    return JsonResponse({"received": True})
