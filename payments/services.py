"""Every write about paying people: batches, payments, items. One action per function.

Each locks what it changes, checks the current state, changes it, stamps the
audit history with the actor and reason, and leaves slow or external work
(provider calls, e-mail, PDFs) to tasks enqueued with ``transaction.on_commit``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.history import stamp
from config.errors import NotAllowed, StateConflict, ValidationFailed
from consultants.models import Consultant, PayoutMethod
from engagements.models import Contribution
from payments import rules
from payments.models import MANUAL_METHODS, Payment, PaymentAttempt, PaymentItem, PayoutBatch, Rail

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
    for item in payment.items.filter(live=True).select_related("contribution"):
        c = Contribution.objects.select_for_update().get(pk=item.contribution_id)
        if c.status != Contribution.Status.PAID:
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
    to_pay = []
    for payment in b.payments.select_for_update().filter(status=PS.PENDING):
        payment.status = PS.PROCESSING
        stamp(payment, by=by, action="payment.processing")
        payment.save(update_fields=["status", "updated_at"])
        if payment.rail == Rail.STRIPE:
            to_pay.append(payment.pk)
    transaction.on_commit(lambda: _enqueue_payments(to_pay))
    batch_refresh(batch=b)
    return b


def _enqueue_payments(payment_ids: list[int]) -> None:
    from payments.tasks import pay_payment

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
    """Side effects of a payment reaching paid (receipts arrive with their issue)."""


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


__all__ = [
    "PaymentAttempt",
    "batch_approve",
    "batch_build",
    "batch_cancel",
    "batch_execute",
    "batch_refresh",
    "batch_submit",
    "payment_cancel",
    "payment_mark_returned",
    "payment_record_manual",
    "payment_release_hold",
    "payment_void",
]
