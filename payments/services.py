"""Every write about paying people: batches, payments, items. One action per function.

Each locks what it changes, checks the current state, changes it, stamps the
audit history with the actor and reason, and leaves slow or external work
(provider calls, e-mail, PDFs) to tasks enqueued with ``transaction.on_commit``.

Locks are always taken in one order: a payment's batch row, then the payment row
(``lock_payment``), then its items and contributions. Batch-wide actions lock the
batch and then its payments, so two writers never wait for each other in a circle.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from consultants.models import Consultant, PayoutMethod
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from engagements.models import Contribution
from payments import rules, selectors
from payments.models import (
    Payment,
    PaymentAttempt,
    PaymentItem,
    PayoutBatch,
    Rail,
    StripeAccount,
    WebhookEvent,
    reference_missing,
)

PS = Payment.Status
BS = PayoutBatch.Status
REVERSAL = Payment.Reversal

log = logging.getLogger("payments")


# --- who may act ---------------------------------------------------------------------


def _require_finance(user) -> None:
    if not (user and user.is_authenticated and user.has_perm("payments.access_finance")):
        raise NotAllowed(_("Only finance can do this."))


def _not_a_payee(user, batch, action: str) -> None:
    if user.pk in selectors.batch_payee_user_ids([batch.pk])[batch.pk]:
        raise NotAllowed(
            _("You are paid in this batch, so someone else must %(action)s it.")
            % {"action": action},
            code="own_payment",
        )


def _payee_user_id(payment) -> int | None:
    # The user id only: the consultant's contact fields are encrypted and not needed.
    return (
        Consultant.objects.filter(pk=payment.consultant_id)
        .values_list("user_id", flat=True)
        .first()
    )


def _not_own(payment, by, message: str) -> None:
    if _payee_user_id(payment) == by.pk:
        raise NotAllowed(message, code="own_payment")


# --- locks ----------------------------------------------------------------------------


def _lock_batch(batch) -> PayoutBatch:
    return PayoutBatch.objects.select_for_update().get(pk=batch.pk)


def _lock_batch_rows(batch_ids) -> None:
    """Lock these batch rows FOR UPDATE, in id order."""
    list(
        PayoutBatch.objects.select_for_update()
        .filter(pk__in=sorted(set(batch_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_payments(payments, *, shared_batch: bool = False) -> list[Payment]:
    """Lock payments the one way every writer does: their batches first, then them.

    Batch-wide actions (execute, cancel, refresh) lock a batch and then its
    payments; taking the same order here means no two writers ever wait for each
    other in a circle (PostgreSQL would end that with a "deadlock detected" error).
    ``shared_batch``: the engine and the webhooks lock the payment only. Taking the
    batch row too (even FOR SHARE) let two workers' nested calls upgrade to an
    exclusive batch lock at once, which PostgreSQL ends as a deadlock.

    The payments come back by id, with their (current) batch; not their consultant.
    """
    ids = sorted({p if isinstance(p, int) else p.pk for p in payments})
    if not shared_batch:
        batch_ids = Payment.objects.filter(pk__in=ids).values_list("batch_id", flat=True)
        _lock_batch_rows(batch_ids)
    return list(
        Payment.objects.select_for_update(of=("self",))
        .select_related("batch")
        .filter(pk__in=ids)
        .order_by("pk")
    )


def lock_payment(payment, *, shared_batch: bool = False) -> Payment:
    """``lock_payments`` for one payment (an id or an instance)."""
    found = lock_payments([payment], shared_batch=shared_batch)
    if not found:
        raise Payment.DoesNotExist("no such payment")
    return found[0]


def _conflict(what: str, status_label: str) -> StateConflict:
    return StateConflict(
        _("This %(what)s is %(status)s now, so that can no longer be done.")
        % {"what": what, "status": status_label.lower()}
    )


# --- contributions follow their payment ---------------------------------------------


def _mark_contributions_paid(payment, *, by) -> None:
    # One locking read for all of the payment's live contributions.
    contributions = (
        Contribution.objects.select_for_update(of=("self",))
        .filter(payment_items__payment=payment, payment_items__live=True)
        .exclude(status=Contribution.Status.PAID)
        .order_by("pk")
    )
    for c in contributions:
        c.status = Contribution.Status.PAID
        stamp(c, by=by, action="contribution.paid")
        c.save(update_fields=["status", "updated_at"])


def _release_items(payment, *, by, reason: str) -> int:
    """Free a payment's contributions for a later batch; returns how many."""
    now = timezone.now()
    released = 0
    for item in payment.items.select_for_update().filter(live=True).order_by("pk"):
        item.live = False
        item.released_at = now
        item.release_reason = reason
        stamp(item, by=by, action="payment_item.released", reason=reason)
        item.save(update_fields=["live", "released_at", "release_reason"])
        c = Contribution.objects.select_for_update().get(pk=item.contribution_id)
        if c.status == Contribution.Status.PAID:
            c.status = Contribution.Status.APPROVED
            stamp(c, by=by, action="contribution.released", reason=reason)
            c.save(update_fields=["status", "updated_at"])
        released += 1
    return released


# --- building a batch -----------------------------------------------------------------


@transaction.atomic
def batch_build(
    *,
    by,
    cutoff_date: date,
    study=None,
    phase=None,
    method: str = "",
    note: str = "",
    today: date | None = None,
) -> PayoutBatch:
    """Gather approved, unpaid work up to ``cutoff_date`` into one payment per consultant.

    Each payment is checked before it can go (see ``payments.rules.preflight``)
    and held, with the reason, when it must wait.
    """
    _require_finance(by)
    today = today or timezone.localdate()
    if not isinstance(cutoff_date, date):
        raise ValidationFailed(
            _("Enter the date up to which approved work is paid."), field="cutoff_date"
        )
    if cutoff_date > today:
        raise ValidationFailed(_("The cut-off date cannot be in the future."), field="cutoff_date")
    if method and method not in PayoutMethod.values:
        raise ValidationFailed(_("Unknown payout method."), field="method")
    if phase is not None and study is not None and phase.study_id != study.pk:
        raise ValidationFailed(_("That phase belongs to another study."), field="phase")

    contributions = (
        Contribution.objects.filter(rules.open_items_filter(), date__lte=cutoff_date)
        .select_related("engagement__consultant", "engagement__phase")
        .order_by("engagement__consultant_id", "date", "id")
    )
    if study is not None:
        contributions = contributions.filter(engagement__phase__study=study)
    if phase is not None:
        contributions = contributions.filter(engagement__phase=phase)
    if method:
        contributions = contributions.filter(engagement__consultant__payout_method=method)
    # Lock the rows we are about to claim (PostgreSQL); the live-item index
    # stops a concurrent builder either way.
    by_consultant: dict[int, list[Contribution]] = defaultdict(list)
    for c in contributions.select_for_update(of=("self",)):
        by_consultant[c.engagement.consultant_id].append(c)
    if not by_consultant:
        raise ValidationFailed(
            _("There is no approved, unpaid work up to %(date)s with these filters.")
            % {"date": cutoff_date.isoformat()},
            code="nothing_to_pay",
        )

    batch = PayoutBatch(
        cutoff_date=cutoff_date,
        study=study,
        phase=phase,
        method=method,
        note=(note or "").strip(),
        created_by=by,
        currency=settings.CURRENCY,
    )
    stamp(batch, by=by, action="batch.built")
    batch.save()
    for items in by_consultant.values():
        consultant = items[0].engagement.consultant
        _add_payment(batch=batch, consultant=consultant, contributions=items, by=by, today=today)
    return batch


def _add_payment(*, batch, consultant, contributions, by, today) -> Payment:
    method = consultant.payout_method
    amount = sum((c.amount for c in contributions), Decimal("0.00"))
    payment = Payment(
        batch=batch,
        consultant=consultant,
        method=method,
        rail=Rail.STRIPE if method == PayoutMethod.STRIPE else Rail.MANUAL,
        amount=amount,
        currency=batch.currency,
        gift_card_store=consultant.gift_card_store if method == PayoutMethod.GIFT_CARD else "",
    )
    stamp(payment, by=by, action="payment.created")
    payment.save()
    items = [PaymentItem(payment=payment, contribution=c, amount=c.amount) for c in contributions]
    try:
        with transaction.atomic():
            for item in items:
                stamp(item, by=by, action="payment_item.added")
                item.save()
    except IntegrityError:
        raise StateConflict(
            _("Some of this work was just put in another batch. Build the batch again."),
            code="already_in_payment",
        ) from None
    hold = rules.preflight(
        consultant=consultant,
        method=method,
        amount=amount,
        items=items,
        today=today,
        payment=payment,
    )
    if hold is not None:
        _put_on_hold(payment, hold, by=by)
    return payment


def _put_on_hold(payment, hold: rules.Hold, *, by) -> None:
    payment.status = PS.HELD
    payment.hold_reason = hold.code
    payment.hold_detail = hold.detail
    stamp(payment, by=by, action="payment.held", reason=hold.detail)
    payment.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])


# --- the batch's life -------------------------------------------------------------------


@transaction.atomic
def batch_submit(*, batch, by) -> PayoutBatch:
    """Ask a second finance person to approve."""
    _require_finance(by)
    b = _lock_batch(batch)
    if b.status == BS.PENDING_APPROVAL:
        return b
    if b.status != BS.DRAFT:
        raise _conflict(_("batch"), b.get_status_display())
    b.status = BS.PENDING_APPROVAL
    b.submitted_at = timezone.now()
    stamp(b, by=by, action="batch.submitted")
    b.save()
    return b


@transaction.atomic
def batch_approve(*, batch, by) -> PayoutBatch:
    _require_finance(by)
    b = _lock_batch(batch)
    if b.status == BS.APPROVED and b.approved_by_id == by.pk:
        return b
    if b.status != BS.PENDING_APPROVAL:
        raise _conflict(_("batch"), b.get_status_display())
    if b.created_by_id == by.pk:
        raise NotAllowed(
            _("You built this batch, so another finance person must approve it."), code="own_batch"
        )
    _not_a_payee(by, b, _("approve"))
    b.status = BS.APPROVED
    b.approved_by = by
    b.approved_at = timezone.now()
    stamp(b, by=by, action="batch.approved")
    b.save()
    return b


@transaction.atomic
def batch_cancel(*, batch, by, reason: str) -> PayoutBatch:
    """Cancel before execution: every payment still waiting is cancelled, its work released.

    Payments cancelled one by one before keep their own reason.
    """
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the batch is cancelled."), field="reason")
    b = _lock_batch(batch)
    if b.status not in PayoutBatch.CANCELLABLE:
        raise _conflict(_("batch"), b.get_status_display())
    payments = list(b.payments.select_for_update().order_by("pk"))
    if any(p.status not in (PS.PENDING, PS.HELD, PS.CANCELLED) for p in payments):
        # Never the case before execution; should it ever be, money may be on its way.
        raise StateConflict(
            _("Some payments in this batch are being paid or were paid; it cannot be cancelled."),
            code="payments_under_way",
        )
    for payment in payments:
        if payment.status in (PS.PENDING, PS.HELD):
            _close(payment, status=PS.CANCELLED, by=by, reason=reason, action="payment.cancelled")
    b.status = BS.CANCELLED
    b.cancelled_by = by
    b.cancelled_at = timezone.now()
    b.cancel_reason = reason
    stamp(b, by=by, action="batch.cancelled", reason=reason)
    b.save()
    return b


@transaction.atomic
def batch_execute(*, batch, by, today: date | None = None) -> PayoutBatch:
    """Start paying an approved batch: one background task per Stripe payment.

    Every pending payment is checked again first (other payments may have been paid
    or started since the batch was built): one that now crosses a line is held with
    its reason instead of going out. Manual payments wait for finance to record the
    hand-over.
    """
    _require_finance(by)
    b = _lock_batch(batch)
    if b.status in (BS.PROCESSING, BS.COMPLETED, BS.COMPLETED_WITH_FAILURES) and b.executed_by_id:
        return b  # already started: executing twice changes nothing
    if b.status != BS.APPROVED:
        raise _conflict(_("batch"), b.get_status_display())
    _not_a_payee(by, b, _("execute"))
    b.status = BS.PROCESSING
    b.executed_by = by
    b.executed_at = timezone.now()
    stamp(b, by=by, action="batch.executed")
    b.save()
    pending = list(b.payments.select_for_update().filter(status=PS.PENDING).order_by("pk"))
    holds = rules.preflight_payments(pending, today=today or timezone.localdate())
    starting = []
    for payment in pending:
        hold = holds[payment.pk]
        if hold is None:
            starting.append(payment)
        else:
            _put_on_hold(payment, hold, by=by)
    # Every payment that goes starts, each with its history row; written in bulk
    # (one UPDATE and one INSERT per thousand payments, not two statements each).
    now = timezone.now()
    for payment in starting:
        payment.status = PS.PROCESSING
        payment.updated_at = now
    bulk_update_with_history(
        starting,
        Payment,
        ["status", "updated_at"],
        batch_size=1000,
        default_user=by,
        default_change_reason="",
        default_date=now,
        custom_historical_attrs={"history_action": "payment.processing"},
    )
    to_pay = [payment.pk for payment in starting if payment.rail == Rail.STRIPE]
    transaction.on_commit(lambda: _enqueue_payments(to_pay))
    batch_refresh(batch=b)
    return b


def _enqueue_payments(payment_ids: list[int]) -> None:
    from django_tasks_db.backend import DatabaseBackend

    from payments.tasks import pay_payment

    if isinstance(pay_payment.get_backend(), DatabaseBackend):
        # Task rows for a whole batch: one commit, not one per payment.
        with transaction.atomic():
            for payment_id in payment_ids:
                pay_payment.enqueue(payment_id)
        return
    for payment_id in payment_ids:
        pay_payment.enqueue(payment_id)


def batch_refresh(*, batch) -> PayoutBatch:
    """Close a processing batch once no payment in it is still on its way."""
    b = _lock_batch(batch)
    if b.status != BS.PROCESSING:
        return b
    statuses = set(b.payments.values_list("status", flat=True))
    if statuses & {PS.PENDING, PS.PROCESSING}:
        return b
    b.status = BS.COMPLETED_WITH_FAILURES if statuses & {PS.FAILED, PS.HELD} else BS.COMPLETED
    b.completed_at = timezone.now()
    stamp(b, by=None, action="batch.completed")
    b.save()
    return b


def refresh_batch_when_done(batch_id: int) -> bool:
    """Close the batch if nothing in it is still on its way; True if it closed now.

    Run outside any transaction (after a payment's commit, or by the sweep): of two
    workers finishing a batch's last two payments at once, the later one sees both
    and closes it, and neither holds the batch row while paying.
    """
    if Payment.objects.filter(batch_id=batch_id, status__in=(PS.PENDING, PS.PROCESSING)).exists():
        return False
    try:
        with transaction.atomic():
            before = PayoutBatch.objects.values_list("status", flat=True).get(pk=batch_id)
            after = batch_refresh(batch=PayoutBatch(pk=batch_id)).status
    except Exception:  # the payment is recorded; a later sweep closes the batch
        log.exception("batch %s: could not refresh after a payment", batch_id)
        return False
    return before == BS.PROCESSING and after != BS.PROCESSING


def _reopen(b: PayoutBatch, *, by, reason: str) -> None:
    """A completed batch pays again (a retried or released payment); ``b`` is locked."""
    b.status = BS.PROCESSING
    b.completed_at = None
    stamp(b, by=by, action="batch.reopened", reason=reason)
    b.save(update_fields=["status", "completed_at"])


# --- one payment -------------------------------------------------------------------------


def _close(payment, *, status, by, reason, action) -> None:
    payment.status = status
    payment.closed_reason = reason
    stamp(payment, by=by, action=action, reason=reason)
    payment.save(update_fields=["status", "closed_reason", "updated_at"])
    _release_items(payment, by=by, reason=reason)


@transaction.atomic
def payment_release_hold(*, payment, by, today: date | None = None) -> Payment:
    """Check a held payment again; it goes ahead only if its reason is resolved.

    In a batch that is being paid it starts at once; in one that already completed,
    the batch is reopened to pay it.
    """
    _require_finance(by)
    p = lock_payment(payment)
    if p.status != PS.HELD:
        raise _conflict(_("payment"), p.get_status_display())
    _not_own(p, by, _("Nobody releases a payment to themselves."))
    b = p.batch
    reopen = b.status in (BS.COMPLETED, BS.COMPLETED_WITH_FAILURES)
    if not reopen and b.status not in (BS.DRAFT, BS.PENDING_APPROVAL, BS.APPROVED, BS.PROCESSING):
        raise _conflict(_("batch"), b.get_status_display())
    items = list(p.items.filter(live=True).select_related("contribution"))
    hold = rules.preflight(
        consultant=Consultant.objects.only(*rules.CONSULTANT_FIELDS).get(pk=p.consultant_id),
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
    stamp(p, by=by, action="payment.hold_released")
    p.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])
    if processing and p.rail == Rail.STRIPE:
        payment_id = p.pk
        transaction.on_commit(lambda: _enqueue_payments([payment_id]))
    return p


def needs_stripe_check(payment) -> bool:
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
def payment_cancel(*, payment, by, reason: str) -> Payment:
    """Give up on a payment that has not been paid; its work goes back to the pool."""
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment is cancelled."), field="reason")
    p = lock_payment(payment)
    if p.status not in (PS.PENDING, PS.HELD, PS.FAILED):
        raise _conflict(_("payment"), p.get_status_display())
    if needs_stripe_check(p):
        raise StateConflict(
            _(
                "This payment was sent to Stripe, so a transfer may exist for it. Use "
                "“Check with Stripe” on this payment first: it can be cancelled once "
                "Stripe shows nothing was sent."
            ),
            code="check_with_stripe",
        )
    _close(p, status=PS.CANCELLED, by=by, reason=reason, action="payment.cancelled")
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_check_with_stripe(*, payment, by) -> Payment:
    """Ask a worker to list what Stripe holds for a failed payment.

    If a transfer exists, the payment is recorded paid (or, if the transfer does not
    match, left failed for finance); if nothing does, it may be cancelled.
    """
    _require_finance(by)
    p = lock_payment(payment)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(_("Only Stripe payments are checked with Stripe."))
    if p.status != PS.FAILED:
        raise _conflict(_("payment"), p.get_status_display())
    if not needs_stripe_check(p):
        return p
    stamp(p, by=by, action="payment.stripe_check_requested")
    p.save(update_fields=["updated_at"])
    payment_id = p.pk
    transaction.on_commit(lambda: _enqueue_stripe_check(payment_id))
    return p


def _enqueue_stripe_check(payment_id: int) -> None:
    from payments.tasks import check_with_stripe

    check_with_stripe.enqueue(payment_id)


@transaction.atomic
def payment_record_stripe_check(*, payment, found, listed_at) -> str:
    """What a listing of the transfer group made at ``listed_at`` showed (``found``).

    A live transfer is adopted (paid if it matches, else left failed with
    ``transfer_mismatch``); nothing live lets finance cancel. The listing proves
    nothing if a call could have been in flight when it was made.
    """
    p = lock_payment(payment, shared_batch=True)
    if p.rail != Rail.STRIPE or p.status != PS.FAILED:
        return f"skipped: the payment is {p.status}"
    live = [e for e in found if e.live]
    if live:
        return "paid" if payment_adopt_transfer(payment=p, live=live) else "transfer_mismatch"
    # A call that could have been in flight when Stripe was asked: the listing proves nothing.
    if p.attempts.filter(Q(claimed_until__gt=listed_at) | Q(started_at__gt=listed_at)).exists():
        return "busy"
    p.stripe_checked_at = listed_at
    stamp(p, by=None, action="payment.stripe_checked", reason="no live transfer at Stripe")
    p.save(update_fields=["stripe_checked_at", "updated_at"])
    return "nothing at Stripe"


@transaction.atomic
def payment_record_manual(
    *, payment, by, reference: str, handed_over_on: date, proof=None, today: date | None = None
) -> Payment:
    """Finance records that a check, card or cash was handed over."""
    _require_finance(by)
    reference = (reference or "").strip()
    p = lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(_("Stripe payments are recorded by Stripe, not by hand."))
    if p.status == PS.PAID:
        raise _conflict(_("payment"), p.get_status_display())
    if p.status != PS.PROCESSING:
        raise StateConflict(
            _("Execute the batch before recording hand-overs (this payment is %(status)s).")
            % {"status": p.get_status_display().lower()}
        )
    _not_own(p, by, _("Nobody records a payment to themselves."))
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
    stamp(p, by=by, action="payment.paid")
    p.save()
    _mark_contributions_paid(p, by=by)
    payment_id = p.pk
    transaction.on_commit(lambda: _after_paid(payment_id))
    batch_refresh(batch=p.batch)
    return p


def _after_paid(payment_id: int) -> None:
    """Side effects of a payment reaching paid: its receipt, rendered by a worker."""
    from payments.document_tasks import issue_receipt

    issue_receipt.enqueue(payment_id)


@transaction.atomic
def payment_void(*, payment, by, reason: str) -> Payment:
    """A manual payment that did not happen (a lost check, say): its work is freed."""
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment is voided."), field="reason")
    p = lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(_("Only manual payments are voided; Stripe transfers are reversed."))
    if p.status not in (PS.PROCESSING, PS.PAID):
        raise _conflict(_("payment"), p.get_status_display())
    _close(p, status=PS.VOIDED, by=by, reason=reason, action="payment.voided")
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_mark_returned(*, payment, by, reason: str) -> Payment:
    """A paid check, card or cash came back (a returned check, say).

    The payment is returned and its work released for a later batch; the consultant
    sees a neutral note on their payments page and, if they asked for e-mails, gets
    a neutral one. A Stripe payment comes back only through Stripe (a reversal).
    """
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment came back."), field="reason")
    p = lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(
            _("A Stripe payment comes back through Stripe (a reversal), not by hand.")
        )
    if p.status == PS.RETURNED:
        return p
    if p.status != PS.PAID:
        raise _conflict(_("payment"), p.get_status_display())
    _not_own(p, by, _("Nobody records their own payment as returned."))
    _close(p, status=PS.RETURNED, by=by, reason=reason, action="payment.returned")
    payment_id = p.pk
    transaction.on_commit(lambda: _after_returned(payment_id))
    return p


def _after_returned(payment_id: int) -> None:
    """Side effects of a payment coming back: the consultant is told, neutrally, by a task."""
    from payments.tasks import tell_payment_came_back

    tell_payment_came_back.enqueue(payment_id)


# === Stripe execution: state changes the engine, webhooks and finance share ============
#
# The engine (payments.execution) calls Stripe outside any transaction and records
# what happened through these functions; the webhook handlers do the same with what
# Stripe tells them later. Each is safe to call twice and never moves a payment back.


def _account_id(payment) -> str | None:
    return (
        StripeAccount.objects.filter(consultant_id=payment.consultant_id)
        .values_list("account_id", flat=True)
        .first()
    )


def _fail(p: Payment, *, code: str, message: str, by=None) -> None:
    """``p`` (locked, processing or failed) fails with this reason, for finance."""
    p.status = PS.FAILED
    p.failure_code = code[:64]
    p.failure_message = message
    # A new failure: whatever was checked with Stripe before no longer holds.
    p.stripe_checked_at = None
    stamp(p, by=by, action="payment.failed", reason=message)
    p.save(
        update_fields=[
            "status",
            "failure_code",
            "failure_message",
            "stripe_checked_at",
            "updated_at",
        ]
    )
    batch_id = p.batch_id
    transaction.on_commit(lambda: refresh_batch_when_done(batch_id))


@transaction.atomic
def payment_record_transfer(
    *,
    payment,
    transfer_id: str,
    source: str,
    attempt_number: int | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    destination: str | None = None,
    by=None,
) -> Payment:
    """Stripe holds transfer ``transfer_id`` for this payment: the payment is paid.

    ``source`` says how Honora learnt it (the call's answer, a listing of the transfer
    group, a ``transfer.created`` event); it goes into the history as the reason.
    ``amount``, ``currency`` and ``destination``, when given (what Stripe says the
    transfer carries), must be the payment's: a transfer that differs never pays it;
    the payment fails with ``transfer_mismatch`` and is left for finance.
    A processing payment, or a failed one whose transfer turns out to exist, becomes
    paid; a paid one stays as it is; a closed one is never reopened. The attempt
    numbered ``attempt_number`` (the one whose key made the transfer) is marked
    succeeded.
    """
    from payments.providers.stripe import transfer_problems

    transfer_id = (transfer_id or "").strip()
    if not transfer_id.startswith("tr_"):
        raise ValidationFailed(_("A Stripe transfer id starts with tr_."), field="transfer_id")
    p = lock_payment(payment, shared_batch=True)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(_("Only Stripe payments are paid by a Stripe transfer."))
    if p.status == PS.PAID:
        if p.transfer_id == transfer_id:
            if attempt_number is not None:
                _attempt_succeeded(p, number=attempt_number, reference=transfer_id, reason=source)
            return p
        log.error(
            "payment %s: transfer %s exists besides %s, which paid it",
            p.public_id,
            transfer_id,
            p.transfer_id,
        )
        raise StateConflict(
            _("This payment was already paid by another transfer; reconcile with Stripe."),
            code="second_transfer",
        )
    if p.status not in (PS.PROCESSING, PS.FAILED):
        if p.status in (PS.RETURNED, PS.VOIDED, PS.CANCELLED):
            log.warning(
                "payment %s is %s but transfer %s exists", p.public_id, p.status, transfer_id
            )
        raise _conflict(_("payment"), p.get_status_display())
    if amount is not None or currency is not None or destination is not None:
        problems = transfer_problems(
            p,
            amount=p.amount if amount is None else amount,
            currency=p.currency if currency is None else currency,
            destination=destination,
            account_id=_account_id(p),
        )
        if problems:
            _transfer_mismatch(p, transfer_id, problems, attempt_number=attempt_number)
            return p
    if attempt_number is not None:
        _attempt_succeeded(p, number=attempt_number, reference=transfer_id, reason=source)
    p.status = PS.PAID
    p.transfer_id = transfer_id
    p.paid_at = timezone.now()
    p.failure_code = ""
    p.failure_message = ""
    stamp(p, by=by, action="payment.paid", reason=source)
    p.save(
        update_fields=[
            "status",
            "transfer_id",
            "paid_at",
            "failure_code",
            "failure_message",
            "updated_at",
        ]
    )
    _mark_contributions_paid(p, by=by)
    payment_id, batch_id = p.pk, p.batch_id
    transaction.on_commit(lambda: _after_paid(payment_id))
    transaction.on_commit(lambda: refresh_batch_when_done(batch_id))
    return p


def _transfer_mismatch(p: Payment, transfer_id: str, problems, *, attempt_number=None) -> None:
    """A transfer exists for ``p`` (locked) that is not what it should be: never paid."""
    detail = "; ".join(problems)
    log.error("payment %s: transfer %s does not match it: %s", p.public_id, transfer_id, detail)
    if attempt_number is not None:
        attempt = p.attempts.select_for_update().filter(number=attempt_number).first()
        if attempt is not None and attempt.status != PaymentAttempt.Status.SUCCEEDED:
            # Something was created under this key: its outcome is not "nothing".
            attempt.status = PaymentAttempt.Status.UNKNOWN
            attempt.provider_reference = transfer_id
            attempt.error_code = "transfer_mismatch"
            attempt.error_message = detail
            attempt.finished_at = timezone.now()
            attempt.claimed_by, attempt.claimed_until, attempt.next_try_at = "", None, None
            stamp(attempt, by=None, action="payment_attempt.mismatch", reason=detail)
            attempt.save()
    message = _(
        "Stripe holds transfer %(transfer)s for this payment, but it does not match it "
        "(%(detail)s). Nothing more was sent; reconcile with Stripe before acting."
    ) % {"transfer": transfer_id, "detail": detail}
    if p.status == PS.FAILED and p.failure_code == "transfer_mismatch":
        return
    _fail(p, code="transfer_mismatch", message=message)


def _attempt_succeeded(p: Payment, *, number: int, reference: str, reason: str) -> None:
    attempt = p.attempts.select_for_update().filter(number=number).first()
    if attempt is None or attempt.status == PaymentAttempt.Status.SUCCEEDED:
        return
    attempt.status = PaymentAttempt.Status.SUCCEEDED
    attempt.provider_reference = reference
    attempt.finished_at = timezone.now()
    attempt.claimed_by = ""
    attempt.claimed_until = None
    attempt.next_try_at = None
    stamp(attempt, by=None, action="payment_attempt.succeeded", reason=reason)
    attempt.save(
        update_fields=[
            "status",
            "provider_reference",
            "finished_at",
            "claimed_by",
            "claimed_until",
            "next_try_at",
        ]
    )


def payment_adopt_transfer(*, payment, live, source="found by listing the transfer group") -> bool:
    """Live transfers exist for ``payment`` (locked): record the one that fits it.

    True when the payment is paid by one; False when none fits (it is left failed
    with ``transfer_mismatch``, for finance: nothing more is ever sent for it).
    """
    from payments.providers.stripe import transfer_problems

    p = payment
    account_id = _account_id(p)
    fitting = [
        e
        for e in live
        if not transfer_problems(
            p,
            amount=e.amount,
            currency=e.currency,
            destination=e.destination,
            account_id=account_id,
        )
    ]
    if len(live) > 1:
        log.error("payment %s: %s live transfers exist", p.public_id, len(live))
    if not fitting:
        e = live[0]
        _transfer_mismatch(
            p,
            e.reference,
            transfer_problems(
                p,
                amount=e.amount,
                currency=e.currency,
                destination=e.destination,
                account_id=account_id,
            ),
        )
        return False
    chosen = fitting[0]
    number = chosen.metadata.get("honora_attempt")
    payment_record_transfer(
        payment=p,
        transfer_id=chosen.reference,
        source=source,
        attempt_number=int(number) if str(number or "").isdigit() else None,
    )
    return True


@transaction.atomic
def payment_record_failure(*, payment, code: str, message: str, by=None) -> Payment:
    """The provider refused: the payment waits for finance.

    Finance sees ``code`` and ``message``; ``payment_retry`` tries again (with a new
    key, once Stripe confirms nothing exists) or ``payment_cancel`` releases the work
    (once Stripe confirms nothing exists, if it was ever sent). A failed payment that
    fails again for another reason keeps the newer reason.
    """
    code = (code or "").strip() or "failed"
    message = (message or "").strip() or _("The payment could not be made.")
    p = lock_payment(payment, shared_batch=True)
    if p.status == PS.FAILED and p.failure_code == code:
        return p
    if p.status not in (PS.PROCESSING, PS.FAILED):
        raise _conflict(_("payment"), p.get_status_display())
    _fail(p, code=code, message=message, by=by)
    return p


@transaction.atomic
def payment_hold(*, payment, code: str, detail: str, by=None) -> Payment:
    """Hold a payment that has not been sent, with the reason shown (pre-flight again)."""
    if code not in Payment.Hold.values:
        raise ValidationFailed(_("Unknown hold reason."), field="code")
    p = lock_payment(payment, shared_batch=True)
    if p.status == PS.HELD and p.hold_reason == code:
        return p
    if p.status not in (PS.PENDING, PS.PROCESSING) or p.attempts.exists():
        # Once a key has been used, only Stripe's answer decides (never a hold).
        raise _conflict(_("payment"), p.get_status_display())
    _put_on_hold(p, rules.Hold(code, detail), by=by)
    batch_id = p.batch_id
    transaction.on_commit(lambda: refresh_batch_when_done(batch_id))
    return p


@transaction.atomic
def payment_retry(*, payment, by) -> Payment:
    """Try a failed Stripe payment again.

    The payment goes back to processing and a task pays it: it first asks Stripe
    whether a transfer exists for it (and records it paid if so), and only then
    uses a new idempotency key. A completed batch is reopened while it pays.
    """
    _require_finance(by)
    p = lock_payment(payment)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(
            _("Manual payments are recorded when handed over; they are not retried.")
        )
    if p.status == PS.PROCESSING:
        return p  # already being retried: a second click changes nothing
    if p.status != PS.FAILED:
        raise _conflict(_("payment"), p.get_status_display())
    _not_own(p, by, _("Nobody retries a payment to themselves."))
    b = p.batch
    if b.status in (BS.COMPLETED, BS.COMPLETED_WITH_FAILURES):
        _reopen(b, by=by, reason=_("A failed payment is being retried."))
    elif b.status != BS.PROCESSING:
        raise _conflict(_("batch"), b.get_status_display())
    p.status = PS.PROCESSING
    p.failure_code = ""
    p.failure_message = ""
    p.stripe_checked_at = None
    stamp(p, by=by, action="payment.retried")
    p.save(
        update_fields=[
            "status",
            "failure_code",
            "failure_message",
            "stripe_checked_at",
            "updated_at",
        ]
    )
    payment_id = p.pk
    transaction.on_commit(lambda: _enqueue_payments([payment_id]))
    return p


@transaction.atomic
def payment_flag(*, payment, message: str) -> Payment:
    """Put something in front of finance that no status says; logged as an error too."""
    p = lock_payment(payment, shared_batch=True)
    if message in p.alert:
        return p
    log.error("payment %s needs finance: %s", p.public_id, message)
    stamped = f"{timezone.now():%Y-%m-%d %H:%M} {message}"
    p.alert = f"{p.alert}\n{stamped}".strip()
    stamp(p, by=None, action="payment.flagged", reason=message)
    p.save(update_fields=["alert", "updated_at"])
    return p


def _payment_for_transfer(transfer: dict) -> Payment | None:
    found = Payment.objects.filter(rail=Rail.STRIPE, transfer_id=transfer.get("id") or "-").first()
    if found is not None:
        return found
    metadata = transfer.get("metadata") or {}
    for candidate in (transfer.get("transfer_group"), metadata.get("honora_payment")):
        try:
            public_id = uuid.UUID(str(candidate))
        except (TypeError, ValueError):
            continue
        found = Payment.objects.filter(rail=Rail.STRIPE, public_id=public_id).first()
        if found is not None:
            return found
    return None


def _stated(transfer: dict) -> dict:
    """What a transfer object says it carries, as ``payment_record_transfer`` checks it."""
    from payments.providers.stripe import from_cents

    return {
        "amount": from_cents(int(transfer.get("amount") or 0)),
        "currency": str(transfer.get("currency") or ""),
        "destination": str(transfer.get("destination") or ""),
    }


@transaction.atomic
def payment_apply_transfer_created(*, transfer: dict) -> str:
    """``transfer.created``: confirm (or adopt) the transfer; returns what happened.

    A transfer for a payment that was cancelled (its work released, perhaps paid
    again since) is never ignored: the payment is flagged for finance.
    """
    found = _payment_for_transfer(transfer)
    if found is None:
        return "no local payment for this transfer"
    p = lock_payment(found, shared_batch=True)
    transfer_id = str(transfer.get("id") or "")
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
    attempt = (transfer.get("metadata") or {}).get("honora_attempt")
    try:
        p = payment_record_transfer(
            payment=p,
            transfer_id=transfer_id,
            source="transfer.created event",
            attempt_number=int(attempt) if str(attempt or "").isdigit() else None,
            **_stated(transfer),
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
    found = _payment_for_transfer(transfer)
    if found is None:
        return "no local payment for this transfer"
    p = lock_payment(found, shared_batch=True)
    amount, reversed_cents = (
        int(transfer.get("amount") or 0),
        int(transfer.get("amount_reversed") or 0),
    )
    if not transfer.get("reversed") and reversed_cents < amount:
        log.warning("payment %s: transfer %s partly reversed", p.public_id, transfer.get("id"))
        return f"partial reversal ({reversed_cents} of {amount} cents): left for finance"
    if p.status == PS.RETURNED:
        if p.transfer_id == transfer.get("id") and p.reversal_status in (
            REVERSAL.PENDING,
            REVERSAL.FAILED,
        ):
            _reversal_confirmed(p, reversal_id="", source="transfer.reversed event")
            return "reversal confirmed: work released"
        return "already returned"
    if p.status in (PS.PROCESSING, PS.FAILED):
        # The reversal overtook the transfer's own news: record both, in order.
        p = payment_record_transfer(
            payment=p,
            transfer_id=transfer["id"],
            source="transfer.reversed event",
            **_stated(transfer),
        )
    if p.status != PS.PAID:
        return f"not applied: the payment is {p.status}"
    if p.transfer_id != transfer["id"]:
        log.error(
            "payment %s: reversed transfer %s is not the one that paid it",
            p.public_id,
            transfer.get("id"),
        )
        return "not applied: this transfer did not pay the payment"
    _return_stripe_payment(
        p,
        reason=_("The transfer was reversed; this work will be paid again in a later batch."),
        reversed_=True,
    )
    return "payment returned"


def _return_stripe_payment(p: Payment, *, reason: str, reversed_: bool) -> None:
    """``p`` (locked, paid) came back. Its work is released only once its transfer is
    reversed: at once if it is (``reversed_``), else when the reversal is confirmed."""
    p.status = PS.RETURNED
    p.closed_reason = reason
    p.reversal_status = REVERSAL.DONE if reversed_ else REVERSAL.PENDING
    stamp(p, by=None, action="payment.returned", reason=reason)
    p.save(update_fields=["status", "closed_reason", "reversal_status", "updated_at"])
    payment_id = p.pk
    if reversed_:
        _release_items(p, by=None, reason=reason)
    else:
        transaction.on_commit(lambda: _enqueue_reversal(payment_id))
    transaction.on_commit(lambda: _after_returned(payment_id))


def _reversal_confirmed(p: Payment, *, reversal_id: str, source: str) -> None:
    p.reversal_status = REVERSAL.DONE
    p.reversal_id = (reversal_id or "")[:64]
    p.reversal_error = ""
    stamp(p, by=None, action="payment.reversal_confirmed", reason=source)
    p.save(update_fields=["reversal_status", "reversal_id", "reversal_error", "updated_at"])
    _release_items(p, by=None, reason=p.closed_reason)


@transaction.atomic
def payment_confirm_reversal(*, payment, reversal_id: str, source: str) -> Payment:
    """The transfer of a returned payment is reversed: its work is released now."""
    p = lock_payment(payment, shared_batch=True)
    if p.status == PS.RETURNED and p.reversal_status in (REVERSAL.PENDING, REVERSAL.FAILED):
        _reversal_confirmed(p, reversal_id=reversal_id, source=source)
    return p


@transaction.atomic
def payment_record_reversal_trouble(*, payment, code: str, message: str, refused: bool) -> Payment:
    """A reversal did not happen (``refused``) or its outcome is unknown: finance sees
    it on the payment, and the sweep tries again. The work stays held meanwhile."""
    p = lock_payment(payment, shared_batch=True)
    if p.status != PS.RETURNED or p.reversal_status not in (REVERSAL.PENDING, REVERSAL.FAILED):
        return p
    p.reversal_error = f"{code}: {message}"[:2000]
    if not refused:
        # Bookkeeping while it is retried with the same key: no history row each time.
        Payment.objects.filter(pk=p.pk).update(
            reversal_error=p.reversal_error, updated_at=timezone.now()
        )
        return p
    p.reversal_status = REVERSAL.FAILED
    p.reversal_refusals += 1
    stamp(p, by=None, action="payment.reversal_failed", reason=p.reversal_error)
    p.save(update_fields=["reversal_status", "reversal_error", "reversal_refusals", "updated_at"])
    return p


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


def _match_payout(*, consultant_id: int, amount_cents: int, created: int) -> list[Payment]:
    """The payments the payout carried, if exactly one set of candidates fits; else []."""
    from payments.providers.stripe import to_cents

    candidates = _payout_candidates(consultant_id=consultant_id, created=created)
    if amount_cents <= 0 or not candidates or len(candidates) > PAYOUT_MAX_CANDIDATES:
        return []
    # Every reachable sum, with the one set of candidates reaching it (None: several do).
    ways: dict[int, tuple[int, ...] | None] = {0: ()}
    for index, p in enumerate(candidates):
        cents = to_cents(p.amount, p.currency)
        for total, chosen in list(ways.items()):
            reached = total + cents
            if reached > amount_cents:
                continue
            if reached in ways or chosen is None:
                ways[reached] = None
            else:
                ways[reached] = (*chosen, index)
    chosen = ways.get(amount_cents)
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
    payout_id = str(payout.get("id") or "")
    linked = lock_payments(
        Payment.objects.filter(rail=Rail.STRIPE, stripe_payout_id=payout_id).values_list(
            "pk", flat=True
        ),
        shared_batch=True,
    )
    amount_cents = int(payout.get("amount") or 0)
    created = int(payout.get("created") or 0)
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
            consultant_id=account.consultant_id, amount_cents=amount_cents, created=created
        )
        count = 0
        for p in lock_payments(matched, shared_batch=True):
            # Checked again under the lock: another event may have matched it meanwhile.
            if p.status != PS.PAID or p.stripe_payout_id:
                continue
            p.stripe_payout_id = payout_id
            stamp(p, by=None, action="payment.payout_matched", reason=payout_id)
            p.save(update_fields=["stripe_payout_id", "updated_at"])
            count += 1
        if not count:
            log.warning("payout %s on %s matches no payment for sure", payout_id, account_id)
            return "payout not matched to a payment: finance to review"
        return f"payout matched to {count} payment(s)"

    code = str(payout.get("failure_code") or "failed")
    if not linked:
        # Its paid event was never seen: matched the same way, only when exactly one
        # set of payments fits.
        matched = _match_payout(
            consultant_id=account.consultant_id, amount_cents=amount_cents, created=created
        )
        for p in lock_payments(matched, shared_batch=True):
            if p.status == PS.PAID and not p.stripe_payout_id:
                p.stripe_payout_id = payout_id
                stamp(p, by=None, action="payment.payout_matched", reason=payout_id)
                p.save(update_fields=["stripe_payout_id", "updated_at"])
                linked.append(p)
    if not linked:
        log.warning("failed payout %s on %s matches no payment", payout_id, account_id)
        from payments.providers.stripe import from_cents

        candidates = _payout_candidates(consultant_id=account.consultant_id, created=created)
        for p in candidates:
            payment_flag(
                payment=p,
                message=_(
                    "A bank payout (%(payout)s, %(amount)s) to this consultant failed "
                    "(%(code)s), and Honora cannot tell which payments it carried. Check in "
                    "Stripe whether this payment reached them."
                )
                % {"payout": payout_id, "amount": from_cents(amount_cents), "code": code},
            )
        return "failed payout not matched to a payment: finance to review"
    returned = 0
    for p in linked:
        if p.status != PS.PAID:
            continue
        _return_stripe_payment(
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


def _enqueue_reversal(payment_id: int) -> None:
    from payments.tasks import reverse_transfer

    reverse_transfer.enqueue(payment_id)


# --- Stripe accounts ----------------------------------------------------------------------


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
    stamp(sa, by=None, action="stripe_account.updated")
    sa.save()
    return "ready" if sa.ready else "not ready"


def stripe_account_refresh(*, account_id: str) -> str:
    """Read the account from Stripe (outside any transaction) and apply it."""
    from payments.stripe_client import stripe_client

    account = stripe_client().v1.accounts.retrieve(account_id)
    return stripe_account_apply(account=account.to_dict(), created=int(time.time()))


def stripe_onboarding_link(
    *, consultant, by, return_url: str | None = None, refresh_url: str | None = None
) -> str:
    """The URL of a fresh Stripe onboarding link for ``consultant`` (Express, recipient).

    Creates the connected account first when the consultant has none (one per
    consultant: the creation carries an idempotency key made from the consultant's
    id, so two clicks at once create one account). The link is single-use and
    expires within minutes, so it is made when asked for; the Stripe calls run
    outside any transaction.
    """
    from payments.stripe_client import StripeNotConfigured, stripe_client

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
            account = _stripe_account_save(consultant=consultant, account=created.to_dict(), by=by)
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


def stripe_account_connect(*, consultant, account: dict, by) -> StripeAccount:
    """Record a Stripe account created elsewhere as ``consultant``'s (the demo's sandbox
    accounts); the consultant's existing account, if any, wins and is returned."""
    return _stripe_account_save(consultant=consultant, account=account, by=by)


@transaction.atomic
def _stripe_account_save(*, consultant, account: dict, by) -> StripeAccount:
    Consultant.objects.select_for_update().get(pk=consultant.pk)
    existing = StripeAccount.objects.filter(consultant=consultant).first()
    if existing is not None:
        return existing
    sa = StripeAccount(consultant=consultant, account_id=account["id"], **_account_fields(account))
    stamp(sa, by=by, action="stripe_account.created")
    sa.save()
    return sa


__all__ = [
    "PaymentAttempt",
    "batch_approve",
    "batch_build",
    "batch_cancel",
    "batch_execute",
    "batch_refresh",
    "batch_submit",
    "lock_payment",
    "lock_payments",
    "payment_adopt_transfer",
    "payment_apply_payout",
    "payment_apply_transfer_created",
    "payment_apply_transfer_reversed",
    "payment_cancel",
    "payment_check_with_stripe",
    "payment_confirm_reversal",
    "payment_flag",
    "payment_hold",
    "payment_mark_returned",
    "payment_record_failure",
    "payment_record_manual",
    "payment_record_reversal_trouble",
    "payment_record_stripe_check",
    "payment_record_transfer",
    "payment_release_hold",
    "payment_retry",
    "payment_void",
    "refresh_batch_when_done",
    "stripe_account_apply",
    "stripe_account_connect",
    "stripe_account_refresh",
    "stripe_onboarding_link",
]
