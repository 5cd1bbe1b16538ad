"""What Stripe's news about transfers and payouts means for Honora's payments.

The webhook handlers (``payments.stripe.webhooks``) hand over the raw event
objects; ``payments.stripe.provider`` reads them into small typed values (amounts
as decimals), and the functions here apply them through the payment's lifecycle
(``payments.services.lifecycle``). Each is safe to apply twice and never moves a
payment back.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import StateConflict
from core.history import stamp
from payments import actions
from payments.models import Payment, Rail, StripeAccount, WebhookEvent
from payments.services.lifecycle import (
    payment_flag,
    payment_record_transfer,
    return_stripe_payment,
    reversal_confirmed,
)
from payments.services.locks import lock_payment, lock_payments
from payments.stripe.provider import TransferNews, payout_news, transfer_news

PS = Payment.Status
REVERSAL = Payment.Reversal

log = logging.getLogger("payments")


def _payment_for_transfer(news: TransferNews) -> Payment | None:
    found = Payment.objects.filter(rail=Rail.STRIPE, transfer_id=news.id or "-").first()
    if found is not None:
        return found
    for candidate in (news.transfer_group, news.honora_payment):
        try:
            public_id = uuid.UUID(str(candidate))
        except (TypeError, ValueError):
            continue
        found = Payment.objects.filter(rail=Rail.STRIPE, public_id=public_id).first()
        if found is not None:
            return found
    return None


@transaction.atomic
def payment_apply_transfer_created(*, transfer: dict) -> str:
    """``transfer.created``: confirm (or adopt) the transfer; returns what happened.

    A transfer for a payment that was cancelled (its work released, perhaps paid
    again since) is never ignored: the payment is flagged for finance.
    """
    news = transfer_news(transfer)
    found = _payment_for_transfer(news)
    if found is None:
        return "no local payment for this transfer"
    p = lock_payment(found, lock_batch=False)
    transfer_id = news.id
    if p.transfer_id == transfer_id and p.status != PS.PAID:
        return f"already {p.status}"  # news older than the reversal or return it confirms
    if p.status in (PS.CANCELLED, PS.VOIDED, PS.RETURNED):
        payment_flag(
            payment=p,
            message=_(
                "Stripe made transfer %(transfer)s for this payment, which is %(status)s: its "
                "work may be paid twice. Reverse the transfer in Stripe, or reconcile."
            )
            % {"transfer": transfer_id, "status": p.get_status_display().lower()},
        )
        return f"ALERT: transfer for a {p.status} payment: flagged for finance"
    try:
        p = payment_record_transfer(
            payment=p,
            transfer_id=transfer_id,
            source="transfer.created event",
            attempt_number=news.attempt_number,
            amount=news.amount,
            currency=news.currency,
            destination=news.destination,
            locked=True,
        )
    except StateConflict as exc:
        return f"not applied: {exc.message}"
    if p.status != PS.PAID:
        return "not applied: the transfer does not match the payment (left for finance)"
    return "payment paid"


@transaction.atomic
def payment_apply_transfer_reversed(*, transfer: dict) -> str:
    """``transfer.reversed``: a paid payment whose transfer is fully reversed is returned.

    Its work is released for a later batch and the consultant is told neutrally. A
    returned payment waiting for its reversal (its bank payout failed) has it
    confirmed, and its work is released now. A partial reversal changes nothing
    here: finance decides (reconcile shows it).
    """
    news = transfer_news(transfer)
    found = _payment_for_transfer(news)
    if found is None:
        return "no local payment for this transfer"
    p = lock_payment(found, lock_batch=False)
    if not news.fully_reversed:
        log.warning("payment %s: transfer %s partly reversed", p.public_id, news.id)
        return (
            f"partial reversal ({news.amount_reversed} of {news.amount} "
            f"{news.currency.upper()}): left for finance"
        )
    if p.status == PS.RETURNED:
        if p.transfer_id == news.id and p.reversal_status in (
            REVERSAL.PENDING,
            REVERSAL.FAILED,
        ):
            reversal_confirmed(p, reversal_id="", source="transfer.reversed event")
            return "reversal confirmed: work released"
        return "already returned"
    if p.status in (PS.PROCESSING, PS.FAILED):
        # The reversal overtook the transfer's own news: record both, in order.
        p = payment_record_transfer(
            payment=p,
            transfer_id=news.id,
            source="transfer.reversed event",
            amount=news.amount,
            currency=news.currency,
            destination=news.destination,
            locked=True,
        )
    if p.status != PS.PAID:
        return f"not applied: the payment is {p.status}"
    if p.transfer_id != news.id:
        log.error(
            "payment %s: reversed transfer %s is not the one that paid it", p.public_id, news.id
        )
        return "not applied: this transfer did not pay the payment"
    return_stripe_payment(
        p,
        reason=_("The transfer was reversed; this work will be paid again in a later batch."),
        reversed_=True,
    )
    return "payment returned"


# How a connected account's bank payout is matched to Honora's payments: the
# payouts of an Express account carry its balance, not a payment id. Honora takes
# the account's paid Stripe payments not yet matched to a payout, paid before the
# payout was created (plus a small allowance for clock skew), and matches the
# payout only when exactly one set of them adds up to exactly its amount. Anything
# else is left unmatched, logged, and stored on the event for finance: Honora never
# guesses with money, and a failed payout returns only payments matched to it.
PAYOUT_CLOCK_SKEW_SECONDS = 300
# With more candidates than this, finance matches by hand (the search stays small).
PAYOUT_MAX_CANDIDATES = 16


def _payout_candidates(*, consultant_id: int, created: int) -> list[Payment]:
    before = datetime.fromtimestamp(created + PAYOUT_CLOCK_SKEW_SECONDS, tz=UTC)
    return list(
        Payment.objects.filter(
            consultant_id=consultant_id,
            rail=Rail.STRIPE,
            status=PS.PAID,
            stripe_payout_id="",
            paid_at__lte=before,
        ).order_by("paid_at", "id")
    )


def _match_payout(*, consultant_id: int, amount: Decimal, created: int) -> list[Payment]:
    """The payments the payout carried, if exactly one set of candidates fits; else []."""
    candidates = _payout_candidates(consultant_id=consultant_id, created=created)
    if amount <= 0 or not candidates or len(candidates) > PAYOUT_MAX_CANDIDATES:
        return []
    # Every reachable sum (exact: amounts are decimals of whole cents), with the one
    # set of candidates reaching it (None: several do).
    ways: dict[Decimal, tuple[int, ...] | None] = {Decimal("0.00"): ()}
    for index, p in enumerate(candidates):
        for total, chosen in list(ways.items()):
            reached = total + p.amount
            if reached > amount:
                continue
            if reached in ways or chosen is None:
                ways[reached] = None
            else:
                ways[reached] = (*chosen, index)
    chosen = ways.get(amount)
    return [candidates[i] for i in chosen] if chosen else []


@transaction.atomic
def payment_apply_payout(*, account_id: str, payout: dict, failed: bool) -> str:
    """``payout.paid`` / ``payout.failed`` on a consultant's connected account.

    A paid payout is matched to the payments it carried (see ``_match_payout``). A
    failed one, even one that showed paid first, returns the payments matched to it
    and asks Stripe to reverse their transfers; their work is released for a later
    batch once the reversal is confirmed, so it is paid again exactly once. A failed
    payout matched to nothing is left for finance, and the consultant's unmatched
    paid payments are flagged: the money did not reach them.
    """
    account = StripeAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return "no local Stripe account"
    news = payout_news(payout)
    payout_id = news.id
    linked = lock_payments(
        Payment.objects.filter(rail=Rail.STRIPE, stripe_payout_id=payout_id).values_list(
            "pk", flat=True
        ),
        lock_batch=False,
    )
    created = news.created
    if not failed:
        if linked:
            return f"payout already matched to {len(linked)} payment(s)"
        if (
            WebhookEvent.objects.filter(type="payout.failed", account=account_id)
            .filter(payload__data__object__id=payout_id)
            .exists()
        ):
            return "payout already failed"
        matched = _match_payout(
            consultant_id=account.consultant_id, amount=news.amount, created=created
        )
        count = 0
        for p in lock_payments(matched, lock_batch=False):
            # Checked again under the lock: another event may have matched it meanwhile.
            if p.status != PS.PAID or p.stripe_payout_id:
                continue
            p.stripe_payout_id = payout_id
            stamp(p, by=None, action=actions.PAYMENT_PAYOUT_MATCHED, reason=payout_id)
            p.save(update_fields=["stripe_payout_id", "updated_at"])
            count += 1
        if not count:
            log.warning("payout %s on %s matches no payment for sure", payout_id, account_id)
            return "payout not matched to a payment: finance to review"
        return f"payout matched to {count} payment(s)"

    code = news.failure_code or "failed"
    if not linked:
        # Its paid event was never seen: matched the same way, only when exactly one
        # set of payments fits.
        matched = _match_payout(
            consultant_id=account.consultant_id, amount=news.amount, created=created
        )
        for p in lock_payments(matched, lock_batch=False):
            if p.status == PS.PAID and not p.stripe_payout_id:
                p.stripe_payout_id = payout_id
                stamp(p, by=None, action=actions.PAYMENT_PAYOUT_MATCHED, reason=payout_id)
                p.save(update_fields=["stripe_payout_id", "updated_at"])
                linked.append(p)
    if not linked:
        log.warning("failed payout %s on %s matches no payment", payout_id, account_id)
        candidates = _payout_candidates(consultant_id=account.consultant_id, created=created)
        for p in candidates:
            payment_flag(
                payment=p,
                message=_(
                    "A bank payout (%(payout)s, %(amount)s) to this consultant failed "
                    "(%(code)s), and Honora cannot tell which payments it carried. Check in "
                    "Stripe whether this payment reached them."
                )
                % {"payout": payout_id, "amount": news.amount, "code": code},
            )
        return "failed payout not matched to a payment: finance to review"
    returned = 0
    for p in linked:
        if p.status != PS.PAID:
            continue
        return_stripe_payment(
            p,
            reason=_(
                "The bank did not accept the deposit (%(code)s); this work will be paid again "
                "in a later batch."
            )
            % {"code": code},
            reversed_=False,
        )
        returned += 1
    return f"{returned} payment(s) returned"
