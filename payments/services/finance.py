"""What finance does to one payment: release a hold, cancel, retry, check with Stripe,
record a manual hand-over, void it, or record it came back.

Each action is finance's only, locks the payment (its batch first), checks its
state, changes it and stamps the history with the actor and reason.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consultants.models import Consultant, PayoutMethod
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.tasks import enqueue_on_commit
from payments import actions, preflight
from payments.models import Payment, PayoutBatch, Rail, reference_missing
from payments.services.access import not_own, require_finance
from payments.services.lifecycle import (
    batch_refresh,
    close_payment,
    mark_contributions_paid,
    one_paid_payment_guard,
)
from payments.services.locks import conflict, lock_payment

if TYPE_CHECKING:
    from django.core.files import File

    from accounts.models import User

PS = Payment.Status
BS = PayoutBatch.Status


def _reopen(b: PayoutBatch, *, by: User | None, reason: str) -> None:
    """A completed batch pays again (a retried or released payment); ``b`` is locked."""
    b.status = BS.PROCESSING
    b.completed_at = None
    stamp(b, by=by, action=actions.BATCH_REOPENED, reason=reason)
    b.save(update_fields=["status", "completed_at"])


@transaction.atomic
def payment_release_hold(
    *, payment: Payment, by: User, today: date | None = None, reason: str = ""
) -> Payment:
    """Check a held payment again; it goes ahead only if its reason is resolved.

    ``reason``: why, for history (a tax form recorded, say).

    In a batch that is being paid it starts at once; in one that already completed,
    the batch is reopened to pay it.
    """
    require_finance(by)
    p = lock_payment(payment)
    if p.status != PS.HELD:
        raise conflict(_("payment"), p.get_status_display())
    not_own(p, by, _("Nobody releases a payment to themselves."))
    return _release(p, by=by, today=today, reason=reason)


@transaction.atomic
def payment_release_when_clear(*, payment: Payment, code: str, reason: str) -> Payment | None:
    """Honora releases a payment held for ``code`` once nothing holds it any more.

    For holds the consultant lifts themselves (accepting their agreement): the whole
    pre-flight runs again, as when finance releases a hold. None when it still waits
    (or is no longer held for that reason).
    """
    p = lock_payment(payment)
    if p.status != PS.HELD or p.hold_reason != code:
        return None
    try:
        return _release(p, by=None, today=None, reason=reason)
    except StateConflict:
        return None


def _release(p: Payment, *, by: User | None, today: date | None, reason: str) -> Payment:
    """The release itself; ``p`` is locked and held."""
    b = p.batch
    reopen = b.status in (BS.COMPLETED, BS.COMPLETED_WITH_FAILURES)
    if not reopen and b.status not in (BS.DRAFT, BS.PENDING_APPROVAL, BS.APPROVED, BS.PROCESSING):
        raise conflict(_("batch"), b.get_status_display())
    items = list(p.items.filter(live=True).select_related("contribution"))
    hold = preflight.preflight(
        consultant=Consultant.objects.only(*preflight.CONSULTANT_FIELDS).get(pk=p.consultant_id),
        method=p.method,
        amount=p.amount,
        items=items,
        today=today or timezone.localdate(),
        payment=p,
    )
    if hold is not None:
        raise StateConflict(
            _("Still on hold: %(detail)s") % {"detail": hold.detail}, code="still_held"
        )
    if reopen:
        _reopen(b, by=by, reason=_("A held payment was released."))
    processing = b.status == BS.PROCESSING
    p.status = PS.PROCESSING if processing else PS.PENDING
    p.hold_reason = ""
    p.hold_detail = ""
    stamp(p, by=by, action=actions.PAYMENT_HOLD_RELEASED, reason=reason)
    p.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])
    if processing and p.rail == Rail.STRIPE:
        enqueue_on_commit("payments.tasks.pay_payment", p.pk)
    return p


def needs_stripe_check(payment: Payment) -> bool:
    """A failed Stripe payment that was ever sent, with no check since it failed.

    Stripe may hold a transfer for it (an answer lost, a refusal after a call whose
    outcome is unknown, a transfer that did not match): its work is released only
    once a listing of its transfer group shows nothing live.
    """
    return (
        payment.rail == Rail.STRIPE
        and payment.status == PS.FAILED
        and payment.stripe_checked_at is None
        # A transfer that did not match (learnt from Stripe, say by an event) exists
        # even when Honora never called.
        and (payment.failure_code == "transfer_mismatch" or payment.attempts.exists())
    )


@transaction.atomic
def payment_cancel(*, payment: Payment, by: User, reason: str) -> Payment:
    """Give up on a payment that has not been paid; its work goes back to the pool."""
    require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment is cancelled."), field="reason")
    p = lock_payment(payment)
    if p.status not in (PS.PENDING, PS.HELD, PS.FAILED):
        raise conflict(_("payment"), p.get_status_display())
    if needs_stripe_check(p):
        raise StateConflict(
            _(
                "This payment was sent to Stripe, so a transfer may exist for it. Use "
                "“Check with Stripe” on this payment first: it can be cancelled once "
                "Stripe shows nothing was sent."
            ),
            code="check_with_stripe",
        )
    close_payment(p, status=PS.CANCELLED, by=by, reason=reason, action=actions.PAYMENT_CANCELLED)
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_check_with_stripe(*, payment: Payment, by: User) -> Payment:
    """Ask a worker to list what Stripe holds for a failed payment.

    If a transfer exists, the payment is recorded paid (or, if the transfer does not
    match, left failed for finance); if nothing does, it may be cancelled.
    """
    require_finance(by)
    p = lock_payment(payment)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(
            _("Only Stripe payments are checked with Stripe."), code="wrong_rail"
        )
    if p.status != PS.FAILED:
        raise conflict(_("payment"), p.get_status_display())
    if not needs_stripe_check(p):
        return p
    stamp(p, by=by, action=actions.PAYMENT_STRIPE_CHECK_REQUESTED)
    p.save(update_fields=["updated_at"])
    enqueue_on_commit("payments.tasks.check_with_stripe", p.pk)
    return p


@transaction.atomic
def payment_record_manual(
    *,
    payment: Payment,
    by: User,
    reference: str,
    handed_over_on: date,
    proof: File | None = None,
    today: date | None = None,
) -> Payment:
    """Finance records that a check, card or cash was handed over."""
    require_finance(by)
    reference = (reference or "").strip()
    p = lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(
            _("Stripe payments are recorded by Stripe, not by hand."), code="wrong_rail"
        )
    if p.status == PS.PAID:
        raise conflict(_("payment"), p.get_status_display())
    if p.status != PS.PROCESSING:
        raise StateConflict(
            _("Execute the batch before recording hand-overs (this payment is %(status)s).")
            % {"status": p.get_status_display().lower()}
        )
    not_own(p, by, _("Nobody records a payment to themselves."))
    if not reference:
        raise ValidationFailed(reference_missing(p.method), field="reference")
    if p.method == PayoutMethod.PREPAID_CARD and not (reference.isdigit() and len(reference) == 4):
        raise ValidationFailed(_("Enter only the card's last four digits."), field="reference")
    if len(reference) > 120:
        raise ValidationFailed(_("Keep the reference under 120 characters."), field="reference")
    if not isinstance(handed_over_on, date):
        raise ValidationFailed(_("Enter the date it was handed over."), field="handed_over_on")
    if handed_over_on > (today or timezone.localdate()):
        raise ValidationFailed(
            _("The hand-over date cannot be in the future."), field="handed_over_on"
        )
    p.reference = reference
    p.handed_over_on = handed_over_on
    if proof is not None:
        p.proof = proof
    p.recorded_by = by
    p.status = PS.PAID
    p.paid_at = timezone.now()
    stamp(p, by=by, action=actions.PAYMENT_PAID)
    with one_paid_payment_guard():
        p.save()
    mark_contributions_paid(p, by=by)
    enqueue_on_commit("payments.documents.tasks.issue_receipt", p.pk)  # its receipt
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_void(*, payment: Payment, by: User, reason: str) -> Payment:
    """A manual payment that was never handed over (a check printed, then lost): its work
    is freed.

    Only a payment not yet paid is voided. Money that was handed over and came back
    is recorded as returned (``payment_mark_returned``, by a second finance person),
    so the work's next payment is flagged with the history of this one.
    """
    require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment is voided."), field="reason")
    p = lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(
            _("Only manual payments are voided; Stripe transfers are reversed."), code="wrong_rail"
        )
    if p.status == PS.PAID:
        raise StateConflict(
            _(
                "This payment was recorded as paid, so it is never voided. If the money "
                "came back, a second finance person records it as returned."
            ),
            code="paid_not_voided",
        )
    if p.status != PS.PROCESSING:
        raise conflict(_("payment"), p.get_status_display())
    not_own(p, by, _("Nobody voids their own payment."))
    close_payment(p, status=PS.VOIDED, by=by, reason=reason, action=actions.PAYMENT_VOIDED)
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_mark_returned(*, payment: Payment, by: User, reason: str) -> Payment:
    """A paid check, card or cash came back (a returned check, say).

    Recorded by a second finance person: not the one who recorded the payment as
    paid, and never by the payee. The payment is returned and its work released for
    a later batch, where its new payment is flagged with this one's history
    (``payments.preflight.paid_before``). The consultant sees a neutral note on their
    payments page and, if they asked for e-mails, gets a neutral one. A Stripe
    payment comes back only through Stripe (a reversal).
    """
    require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment came back."), field="reason")
    p = lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(
            _("A Stripe payment comes back through Stripe (a reversal), not by hand."),
            code="wrong_rail",
        )
    if p.status == PS.RETURNED:
        return p
    if p.status != PS.PAID:
        raise conflict(_("payment"), p.get_status_display())
    not_own(p, by, _("Nobody records their own payment as returned."))
    if p.recorded_by_id is not None and p.recorded_by_id == by.pk:
        raise NotAllowed(
            _(
                "You recorded this payment as paid, so another finance person records "
                "that it came back."
            ),
            code="second_person",
        )
    close_payment(p, status=PS.RETURNED, by=by, reason=reason, action=actions.PAYMENT_RETURNED)
    enqueue_on_commit("payments.tasks.tell_payment_came_back", p.pk)
    return p


@transaction.atomic
def payment_retry(*, payment: Payment, by: User) -> Payment:
    """Try a failed Stripe payment again.

    The payment goes back to processing and a task pays it: it first asks Stripe
    whether a transfer exists for it (and records it paid if so), and only then
    uses a new idempotency key. A completed batch is reopened while it pays.
    """
    require_finance(by)
    p = lock_payment(payment)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(
            _("Manual payments are recorded when handed over; they are not retried."),
            code="wrong_rail",
        )
    if p.status == PS.PROCESSING:
        return p  # already being retried: a second click changes nothing
    if p.status != PS.FAILED:
        raise conflict(_("payment"), p.get_status_display())
    not_own(p, by, _("Nobody retries a payment to themselves."))
    b = p.batch
    if b.status in (BS.COMPLETED, BS.COMPLETED_WITH_FAILURES):
        _reopen(b, by=by, reason=_("A failed payment is being retried."))
    elif b.status != BS.PROCESSING:
        raise conflict(_("batch"), b.get_status_display())
    p.status = PS.PROCESSING
    p.failure_code = ""
    p.failure_message = ""
    p.stripe_checked_at = None
    stamp(p, by=by, action=actions.PAYMENT_RETRIED)
    p.save(
        update_fields=[
            "status",
            "failure_code",
            "failure_message",
            "stripe_checked_at",
            "updated_at",
        ]
    )
    enqueue_on_commit("payments.tasks.pay_payment", p.pk)
    return p
