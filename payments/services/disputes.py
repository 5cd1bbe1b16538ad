"""A dispute stops money: an entry a consultant disputes is not paid until it is resolved.

Batch building leaves disputed work out (``payments.preflight.open_items_filter``);
this module handles work that was already in a payment when the dispute was opened.
A payment's amount never changes once built (the payment guard), so one entry cannot
be taken out of it: the whole payment is held (``Payment.Hold.DISPUTED``) with the
dispute's words, as long as nothing has been handed over or sent to Stripe. Finance
then either waits for the resolution and releases the hold (pre-flight checks again
that no dispute is open), or cancels the payment so the rest is paid in the next
batch without the disputed entry. A payment already sent to Stripe cannot be held:
it is flagged for finance instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from payments import preflight
from payments.models import Payment, PaymentItem
from payments.services.lifecycle import payment_flag, put_on_hold, refresh_batch_when_done
from payments.services.locks import lock_payment

if TYPE_CHECKING:
    from accounts.models import User
    from engagements.models import Contribution

PS = Payment.Status


def lock_payment_holding(contribution_id: int) -> Payment | None:
    """Lock (its batch, then itself) the payment in which this work is live, if any.

    Called before the contribution is locked, so the order is the one every payment
    writer takes (batch, payment, contributions).
    """
    payment_id = (
        PaymentItem.objects.filter(contribution_id=contribution_id, live=True)
        .values_list("payment_id", flat=True)
        .first()
    )
    return lock_payment(payment_id) if payment_id is not None else None


def hold_for_dispute(
    payment: Payment | None, *, contribution: Contribution, comment: str, by: User
) -> None:
    """``payment`` (locked by ``lock_payment_holding``) holds ``contribution``, now
    disputed: hold it if nothing has gone yet, else flag it for finance."""
    if payment is None:
        return
    p = payment
    if not PaymentItem.objects.filter(payment=p, contribution=contribution, live=True).exists():
        return
    detail = preflight.dispute_detail([contribution], {contribution.pk: comment})
    if p.status in (PS.PENDING, PS.HELD) or (p.status == PS.PROCESSING and not p.attempts.exists()):
        put_on_hold(p, preflight.Hold(Payment.Hold.DISPUTED, detail), by=by)
        batch_id = p.batch_id
        transaction.on_commit(lambda: refresh_batch_when_done(batch_id))
    elif p.status in (PS.PROCESSING, PS.FAILED):
        payment_flag(
            payment=p,
            message=_("Sent to Stripe before the consultant disputed an entry: %(detail)s")
            % {"detail": detail},
        )
