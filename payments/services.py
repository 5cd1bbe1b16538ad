"""Every write about paying people: batches, payments, items. One action per function.

Each locks what it changes, checks the current state, changes it, stamps the
audit history with the actor and reason, and leaves slow or external work
(provider calls, e-mail, PDFs) to tasks enqueued with ``transaction.on_commit``.
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
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from accounts.history import stamp
from config.errors import NotAllowed, StateConflict, ValidationFailed
from consultants.models import Consultant, PayoutMethod
from engagements.models import Contribution
from payments import rules
from payments.models import (
    MANUAL_METHODS,
    Payment,
    PaymentAttempt,
    PaymentItem,
    PayoutBatch,
    Rail,
    StripeAccount,
    WebhookEvent,
)

PS = Payment.Status
BS = PayoutBatch.Status


# --- who may act ---------------------------------------------------------------------


def _require_finance(user) -> None:
    if not (user and user.is_authenticated and user.has_perm("payments.access_finance")):
        raise NotAllowed(_("Only finance can do this."))


def _payees(batch) -> set[int]:
    return set(
        Consultant.objects.filter(payments__batch=batch, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )


def _not_a_payee(user, batch, action: str) -> None:
    if user.pk in _payees(batch):
        raise NotAllowed(
            _("You are paid in this batch, so someone else must %(action)s it.")
            % {"action": action},
            code="own_payment",
        )


def _lock_batch(batch) -> PayoutBatch:
    return PayoutBatch.objects.select_for_update().get(pk=batch.pk)


def _lock_payment(payment) -> Payment:
    return (
        Payment.objects.select_for_update().select_related("batch", "consultant").get(pk=payment.pk)
    )


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
    for item in payment.items.select_for_update().filter(live=True):
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
        consultant=consultant, method=method, amount=amount, items=items, today=today
    )
    if hold is not None:
        payment.status = PS.HELD
        payment.hold_reason = hold.code
        payment.hold_detail = hold.detail
        stamp(payment, by=by, action="payment.held", reason=hold.detail)
        payment.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])
    return payment


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
    """Cancel before execution: every payment is cancelled and every item released."""
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the batch is cancelled."), field="reason")
    b = _lock_batch(batch)
    if b.status not in PayoutBatch.CANCELLABLE:
        raise _conflict(_("batch"), b.get_status_display())
    for payment in b.payments.select_for_update():
        _close(payment, status=PS.CANCELLED, by=by, reason=reason, action="payment.cancelled")
    b.status = BS.CANCELLED
    b.cancelled_by = by
    b.cancelled_at = timezone.now()
    b.cancel_reason = reason
    stamp(b, by=by, action="batch.cancelled", reason=reason)
    b.save()
    return b


@transaction.atomic
def batch_execute(*, batch, by) -> PayoutBatch:
    """Start paying an approved batch: one background task per Stripe payment.

    Manual payments wait for finance to record the hand-over.
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
    # Every pending payment starts, each with its history row; written in bulk
    # (one UPDATE and one INSERT per thousand payments, not two statements each).
    starting = list(b.payments.select_for_update().filter(status=PS.PENDING))
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


# --- one payment -------------------------------------------------------------------------


def _close(payment, *, status, by, reason, action) -> None:
    payment.status = status
    payment.closed_reason = reason
    stamp(payment, by=by, action=action, reason=reason)
    payment.save(update_fields=["status", "closed_reason", "updated_at"])
    _release_items(payment, by=by, reason=reason)


@transaction.atomic
def payment_release_hold(*, payment, by, today: date | None = None) -> Payment:
    """Check a held payment again; it goes ahead only if its reason is resolved."""
    _require_finance(by)
    p = _lock_payment(payment)
    if p.status != PS.HELD:
        raise _conflict(_("payment"), p.get_status_display())
    if p.batch.status not in (BS.DRAFT, BS.PENDING_APPROVAL, BS.APPROVED, BS.PROCESSING):
        raise _conflict(_("batch"), p.batch.get_status_display())
    items = list(p.items.filter(live=True).select_related("contribution"))
    hold = rules.preflight(
        consultant=p.consultant,
        method=p.method,
        amount=p.amount,
        items=items,
        today=today or timezone.localdate(),
    )
    if hold is not None:
        raise StateConflict(
            _("Still on hold: %(detail)s") % {"detail": hold.detail}, code="still_held"
        )
    processing = p.batch.status == BS.PROCESSING
    p.status = PS.PROCESSING if processing else PS.PENDING
    p.hold_reason = ""
    p.hold_detail = ""
    stamp(p, by=by, action="payment.hold_released")
    p.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])
    if processing and p.rail == Rail.STRIPE:
        transaction.on_commit(lambda: _enqueue_payments([p.pk]))
    return p


@transaction.atomic
def payment_cancel(*, payment, by, reason: str) -> Payment:
    """Give up on a payment that has not been paid; its work goes back to the pool."""
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment is cancelled."), field="reason")
    p = _lock_payment(payment)
    if p.status not in (PS.PENDING, PS.HELD, PS.FAILED):
        raise _conflict(_("payment"), p.get_status_display())
    _close(p, status=PS.CANCELLED, by=by, reason=reason, action="payment.cancelled")
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_record_manual(
    *, payment, by, reference: str, handed_over_on: date, proof=None, today: date | None = None
) -> Payment:
    """Finance records that a check, card or cash was handed over."""
    _require_finance(by)
    reference = (reference or "").strip()
    p = _lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(_("Stripe payments are recorded by Stripe, not by hand."))
    if p.status == PS.PAID:
        raise _conflict(_("payment"), p.get_status_display())
    if p.status != PS.PROCESSING:
        raise StateConflict(
            _("Execute the batch before recording hand-overs (this payment is %(status)s).")
            % {"status": p.get_status_display().lower()}
        )
    if p.consultant.user_id == by.pk:
        raise NotAllowed(_("Nobody records a payment to themselves."), code="own_payment")
    if not reference:
        labels = {
            PayoutMethod.CHECK: _("Enter the check number."),
            PayoutMethod.PREPAID_CARD: _("Enter the card's last four digits."),
            PayoutMethod.GIFT_CARD: _("Enter the gift card's code reference."),
            PayoutMethod.CASH: _("Enter the receipt or envelope reference."),
        }
        raise ValidationFailed(labels.get(p.method, _("Enter a reference.")), field="reference")
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
    transaction.on_commit(lambda: _after_paid(p.pk))
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
    p = _lock_payment(payment)
    if p.rail != Rail.MANUAL:
        raise ValidationFailed(_("Only manual payments are voided; Stripe transfers are reversed."))
    if p.status not in (PS.PROCESSING, PS.PAID):
        raise _conflict(_("payment"), p.get_status_display())
    _close(p, status=PS.VOIDED, by=by, reason=reason, action="payment.voided")
    batch_refresh(batch=p.batch)
    return p


@transaction.atomic
def payment_mark_returned(*, payment, by, reason: str) -> Payment:
    """Money came back (a returned check, a reversed transfer, a failed bank payout).

    The payment is returned and its work released for a later batch; the
    consultant sees a neutral note on their payments page.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the payment came back."), field="reason")
    if by is not None:
        _require_finance(by)
    p = _lock_payment(payment)
    if p.status == PS.RETURNED:
        return p
    if p.status != PS.PAID:
        raise _conflict(_("payment"), p.get_status_display())
    _close(p, status=PS.RETURNED, by=by, reason=reason, action="payment.returned")
    return p


def manual_methods() -> tuple[str, ...]:
    return tuple(str(m) for m in MANUAL_METHODS)


def next_attempt_number(payment) -> int:
    last = payment.attempts.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


# === Stripe execution: state changes the engine, webhooks and finance share ============
#
# The engine (payments.execution) calls Stripe outside any transaction and records
# what happened through these functions; the webhook handlers do the same with what
# Stripe tells them later. Each is safe to call twice and never moves a payment back.

log = logging.getLogger("payments")


def _lock_payment_row(payment) -> Payment:
    """Lock a payment without loading its consultant (whose contact fields are encrypted)."""
    return Payment.objects.select_for_update().get(pk=payment.pk)


def _refresh_batch_when_done(batch_id: int) -> None:
    """After commit: close the batch if nothing in it is still on its way.

    Checked after commit so that, of two workers finishing a batch's last two
    payments at once, the later one sees both and closes it (and neither holds
    the batch row while paying).
    """
    if Payment.objects.filter(batch_id=batch_id, status__in=(PS.PENDING, PS.PROCESSING)).exists():
        return
    try:
        with transaction.atomic():
            batch_refresh(batch=PayoutBatch(pk=batch_id))
    except Exception:  # the payment is recorded; a later sweep closes the batch
        log.exception("batch %s: could not refresh after a payment", batch_id)


def _after_returned(payment_id: int) -> None:
    """Side effects of a payment coming back: the consultant is told, neutrally.

    The portal shows the returned payment at once; an e-mail (see
    ``payments.notifications.payment_came_back``) belongs here once it runs as a task.
    """


@transaction.atomic
def payment_record_transfer(
    *, payment, transfer_id: str, source: str, attempt_number: int | None = None, by=None
) -> Payment:
    """Stripe holds transfer ``transfer_id`` for this payment: the payment is paid.

    ``source`` says how Honora learnt it (the call's answer, a listing of the transfer
    group, a ``transfer.created`` event); it goes into the history as the reason.
    A processing payment, or a failed one whose transfer turns out to exist, becomes
    paid; a paid one stays as it is; a closed one is never reopened. The attempt
    numbered ``attempt_number`` (the one whose key made the transfer) is marked
    succeeded either way.
    """
    transfer_id = (transfer_id or "").strip()
    if not transfer_id.startswith("tr_"):
        raise ValidationFailed(_("A Stripe transfer id starts with tr_."), field="transfer_id")
    p = _lock_payment_row(payment)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(_("Only Stripe payments are paid by a Stripe transfer."))
    if attempt_number is not None:
        _attempt_succeeded(p, number=attempt_number, reference=transfer_id, reason=source)
    if p.status == PS.PAID:
        if p.transfer_id == transfer_id:
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
    transaction.on_commit(lambda: _refresh_batch_when_done(batch_id))
    return p


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


@transaction.atomic
def payment_record_failure(*, payment, code: str, message: str, by=None) -> Payment:
    """The provider refused and created nothing: the payment waits for finance.

    Finance sees ``code`` and ``message``; ``payment_retry`` tries again (with a new
    key, once Stripe confirms nothing exists) or ``payment_cancel`` releases the work.
    """
    code = (code or "").strip() or "failed"
    message = (message or "").strip() or _("The payment could not be made.")
    p = _lock_payment_row(payment)
    if p.status == PS.FAILED and p.failure_code == code:
        return p
    if p.status != PS.PROCESSING:
        raise _conflict(_("payment"), p.get_status_display())
    p.status = PS.FAILED
    p.failure_code = code[:64]
    p.failure_message = message
    stamp(p, by=by, action="payment.failed", reason=message)
    p.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])
    batch_id = p.batch_id
    transaction.on_commit(lambda: _refresh_batch_when_done(batch_id))
    return p


@transaction.atomic
def payment_hold(*, payment, code: str, detail: str, by=None) -> Payment:
    """Hold a payment that has not been sent, with the reason shown (pre-flight again)."""
    if code not in Payment.Hold.values:
        raise ValidationFailed(_("Unknown hold reason."), field="code")
    p = _lock_payment_row(payment)
    if p.status == PS.HELD and p.hold_reason == code:
        return p
    if p.status not in (PS.PENDING, PS.PROCESSING) or p.attempts.exists():
        # Once a key has been used, only Stripe's answer decides (never a hold).
        raise _conflict(_("payment"), p.get_status_display())
    p.status = PS.HELD
    p.hold_reason = code
    p.hold_detail = detail
    stamp(p, by=by, action="payment.held", reason=detail)
    p.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])
    batch_id = p.batch_id
    transaction.on_commit(lambda: _refresh_batch_when_done(batch_id))
    return p


@transaction.atomic
def payment_retry(*, payment, by) -> Payment:
    """Try a failed Stripe payment again.

    The payment goes back to processing and a task pays it: it first asks Stripe
    whether a transfer exists for it (and records it paid if so), and only then
    uses a new idempotency key. A completed batch is reopened while it pays.
    """
    _require_finance(by)
    p = _lock_payment(payment)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(
            _("Manual payments are recorded when handed over; they are not retried.")
        )
    if p.status == PS.PROCESSING:
        return p  # already being retried: a second click changes nothing
    if p.status != PS.FAILED:
        raise _conflict(_("payment"), p.get_status_display())
    if p.consultant.user_id == by.pk:
        raise NotAllowed(_("Nobody retries a payment to themselves."), code="own_payment")
    b = _lock_batch(p.batch)
    if b.status in (BS.COMPLETED, BS.COMPLETED_WITH_FAILURES):
        b.status = BS.PROCESSING
        b.completed_at = None
        stamp(b, by=by, action="batch.reopened", reason=_("A failed payment is being retried."))
        b.save(update_fields=["status", "completed_at"])
    elif b.status != BS.PROCESSING:
        raise _conflict(_("batch"), b.get_status_display())
    p.status = PS.PROCESSING
    p.failure_code = ""
    p.failure_message = ""
    stamp(p, by=by, action="payment.retried")
    p.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])
    payment_id = p.pk
    transaction.on_commit(lambda: _enqueue_payments([payment_id]))
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


def payment_apply_transfer_created(*, transfer: dict) -> str:
    """``transfer.created``: confirm (or adopt) the transfer; returns what happened."""
    p = _payment_for_transfer(transfer)
    if p is None:
        return "no local payment for this transfer"
    if p.transfer_id == transfer.get("id") and p.status != PS.PAID:
        return f"already {p.status}"  # news older than the reversal or return it confirms
    attempt = (transfer.get("metadata") or {}).get("honora_attempt")
    try:
        payment_record_transfer(
            payment=p,
            transfer_id=transfer["id"],
            source="transfer.created event",
            attempt_number=int(attempt) if str(attempt or "").isdigit() else None,
        )
    except StateConflict as exc:
        return f"not applied: {exc.message}"
    return "payment paid"


@transaction.atomic
def payment_apply_transfer_reversed(*, transfer: dict) -> str:
    """``transfer.reversed``: a paid payment whose transfer is fully reversed is returned.

    Its work is released for a later batch and the consultant is told neutrally.
    A partial reversal changes nothing here: finance decides (reconcile shows it).
    """
    found = _payment_for_transfer(transfer)
    if found is None:
        return "no local payment for this transfer"
    p = _lock_payment_row(found)
    amount, reversed_cents = (
        int(transfer.get("amount") or 0),
        int(transfer.get("amount_reversed") or 0),
    )
    if not transfer.get("reversed") and reversed_cents < amount:
        log.warning("payment %s: transfer %s partly reversed", p.public_id, transfer.get("id"))
        return f"partial reversal ({reversed_cents} of {amount} cents): left for finance"
    if p.status == PS.RETURNED:
        return "already returned"
    if p.status in (PS.PROCESSING, PS.FAILED):
        # The reversal overtook the transfer's own news: record both, in order.
        payment_record_transfer(
            payment=p, transfer_id=transfer["id"], source="transfer.reversed event"
        )
        p = _lock_payment_row(p)
    if p.status != PS.PAID:
        return f"not applied: the payment is {p.status}"
    if p.transfer_id != transfer["id"]:
        log.error(
            "payment %s: reversed transfer %s is not the one that paid it",
            p.public_id,
            transfer.get("id"),
        )
        return "not applied: this transfer did not pay the payment"
    payment_mark_returned(
        payment=p,
        by=None,
        reason=_("The transfer was reversed; this work will be paid again in a later batch."),
    )
    payment_id = p.pk
    transaction.on_commit(lambda: _after_returned(payment_id))
    return "payment returned"


# How a connected account's bank payout is matched to Honora's payments: the
# payouts of an Express account carry its balance, not a payment id. Honora takes
# the account's paid Stripe payments not yet matched to a payout, paid before the
# payout was created (plus a small allowance for clock skew), and matches the
# payout when (1) one of them has exactly its amount (the newest such), or (2) the
# oldest of them add up to exactly its amount. Anything else is left unmatched,
# logged, and stored on the event for finance: Honora never guesses with money.
PAYOUT_CLOCK_SKEW_SECONDS = 300


def _match_payout(*, consultant_id: int, amount_cents: int, created: int) -> list[Payment]:
    from payments.providers.stripe import to_cents

    before = datetime.fromtimestamp(created + PAYOUT_CLOCK_SKEW_SECONDS, tz=UTC)
    candidates = list(
        Payment.objects.filter(
            consultant_id=consultant_id,
            rail=Rail.STRIPE,
            status=PS.PAID,
            stripe_payout_id="",
            paid_at__lte=before,
        ).order_by("paid_at", "id")
    )
    cents = {p.pk: to_cents(p.amount, p.currency) for p in candidates}
    for p in reversed(candidates):
        if cents[p.pk] == amount_cents:
            return [p]
    total, prefix = 0, []
    for p in candidates:
        total += cents[p.pk]
        prefix.append(p)
        if total == amount_cents:
            return prefix
        if total > amount_cents:
            break
    return []


@transaction.atomic
def payment_apply_payout(*, account_id: str, payout: dict, failed: bool) -> str:
    """``payout.paid`` / ``payout.failed`` on a consultant's connected account.

    A paid payout is matched to the payments it carried (see ``_match_payout``); a
    failed one — even one that showed paid first — returns those payments, releases
    their work for a later batch, and asks Stripe to reverse their transfers so the
    money comes back to the platform before the work is paid again (exactly once).
    """
    account = StripeAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return "no local Stripe account"
    payout_id = str(payout.get("id") or "")
    linked = list(
        Payment.objects.select_for_update().filter(rail=Rail.STRIPE, stripe_payout_id=payout_id)
    )
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
            consultant_id=account.consultant_id,
            amount_cents=int(payout.get("amount") or 0),
            created=int(payout.get("created") or 0),
        )
        for p in matched:
            p = _lock_payment(p)
            p.stripe_payout_id = payout_id
            stamp(p, by=None, action="payment.payout_matched", reason=payout_id)
            p.save(update_fields=["stripe_payout_id", "updated_at"])
        if not matched:
            return "payout not matched to a payment"
        return f"payout matched to {len(matched)} payment(s)"

    payments = linked or _match_payout(
        consultant_id=account.consultant_id,
        amount_cents=int(payout.get("amount") or 0),
        created=int(payout.get("created") or 0),
    )
    if not payments:
        log.warning("failed payout %s on %s matches no payment", payout_id, account_id)
        return "failed payout not matched to a payment: finance to review"
    returned = 0
    code = str(payout.get("failure_code") or "failed")
    for p in payments:
        p = _lock_payment(p)
        if p.status != PS.PAID:
            continue
        if p.stripe_payout_id != payout_id:
            p.stripe_payout_id = payout_id
            stamp(p, by=None, action="payment.payout_matched", reason=payout_id)
            p.save(update_fields=["stripe_payout_id", "updated_at"])
        payment_mark_returned(
            payment=p,
            by=None,
            reason=_(
                "The bank did not accept the deposit (%(code)s); this work will be paid again "
                "in a later batch."
            )
            % {"code": code},
        )
        payment_id = p.pk
        transaction.on_commit(lambda payment_id=payment_id: _after_returned(payment_id))
        transaction.on_commit(lambda payment_id=payment_id: _enqueue_reversal(payment_id))
        returned += 1
    return f"{returned} payment(s) returned"


def _enqueue_reversal(payment_id: int) -> None:
    from payments.tasks import reverse_transfer

    reverse_transfer.enqueue(payment_id)


# --- Stripe accounts ----------------------------------------------------------------------


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
    capabilities = account.get("capabilities") or {}
    requirements = account.get("requirements") or {}
    sa.payouts_enabled = bool(account.get("payouts_enabled"))
    sa.transfers_active = capabilities.get("transfers") == "active"
    sa.requirements_due = list(requirements.get("currently_due") or [])
    sa.details_submitted = bool(account.get("details_submitted"))
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


@transaction.atomic
def _stripe_account_save(*, consultant, account: dict, by) -> StripeAccount:
    Consultant.objects.select_for_update().get(pk=consultant.pk)
    existing = StripeAccount.objects.filter(consultant=consultant).first()
    if existing is not None:
        return existing
    sa = StripeAccount(
        consultant=consultant,
        account_id=account["id"],
        payouts_enabled=bool(account.get("payouts_enabled")),
        transfers_active=(account.get("capabilities") or {}).get("transfers") == "active",
        requirements_due=list((account.get("requirements") or {}).get("currently_due") or []),
        details_submitted=bool(account.get("details_submitted")),
    )
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
    "payment_apply_payout",
    "payment_apply_transfer_created",
    "payment_apply_transfer_reversed",
    "payment_cancel",
    "payment_hold",
    "payment_mark_returned",
    "payment_record_failure",
    "payment_record_manual",
    "payment_record_transfer",
    "payment_release_hold",
    "payment_retry",
    "payment_void",
    "stripe_account_apply",
    "stripe_account_refresh",
    "stripe_onboarding_link",
]
