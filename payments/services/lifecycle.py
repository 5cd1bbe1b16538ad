"""How a payment's state changes, shared by finance actions, the engine and the webhooks.

The engine (``payments.stripe.engine``) calls Stripe outside any transaction and
records what happened through these functions; the webhook handlers
(``payments.stripe.events``) do the same with what Stripe tells them later, and
finance actions (``payments.services.finance``) use the same steps. Each is safe
to call twice and never moves a payment back. Here also: a payment's work
(contributions) following it, paid or released, and a processing batch closing
once none of its payments is still on its way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import StateConflict, ValidationFailed
from core.history import save_with_history, stamp, write_history
from core.tasks import enqueue_on_commit, enqueue_with_transaction
from engagements import actions as engagements_actions
from engagements.models import Contribution
from payments import actions, preflight
from payments.models import Payment, PaymentAttempt, PayoutBatch, Rail, StripeAccount
from payments.services.locks import conflict, lock_payment, locked_batch

if TYPE_CHECKING:
    from accounts.models import User
    from payments.providers.base import Existing

PS = Payment.Status
BS = PayoutBatch.Status
REVERSAL = Payment.Reversal

log = logging.getLogger("payments")


@contextmanager
def one_paid_payment_guard() -> Iterator[None]:
    """Around the write that makes a payment paid: the database refuses a second paid
    payment for the same contribution (migration 0006's triggers, whichever path
    writes); that refusal is a 409 for whoever asked, never a 500."""
    try:
        # No savepoint of its own: the refusal is raised as a StateConflict, which rolls
        # back the atomic block of the service that paid (or its savepoint, when nested).
        with transaction.atomic(savepoint=False):
            yield
    except IntegrityError as exc:
        if "paid payment" not in str(exc):
            raise
        log.error("a second paid payment for the same work was refused: %s", exc)
        raise StateConflict(
            _("Some of this work is already paid by another payment; it is not paid twice."),
            code="already_paid",
        ) from None


# --- contributions follow their payment ---------------------------------------------


def mark_contributions_paid(payment: Payment, *, by: User | None) -> None:
    """The payment's live contributions are paid: one locking read of their ids, one
    UPDATE and one INSERT of their history rows, however many there are."""
    ids = list(
        Contribution.objects.select_for_update(of=("self",))
        .filter(payment_items__payment=payment, payment_items__live=True)
        .exclude(status=Contribution.Status.PAID)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return
    now = timezone.now()
    Contribution.objects.filter(pk__in=ids).update(status=Contribution.Status.PAID, updated_at=now)
    write_history(Contribution, ids, by=by, action=engagements_actions.CONTRIBUTION_PAID, when=now)


def release_items(payment: Payment, *, by: User | None, reason: str) -> int:
    """Free a payment's contributions for a later batch; returns how many."""
    now = timezone.now()
    released = 0
    for item in payment.items.select_for_update().filter(live=True).order_by("pk"):
        item.live = False
        item.released_at = now
        item.release_reason = reason
        stamp(item, by=by, action=actions.PAYMENT_ITEM_RELEASED, reason=reason)
        item.save(update_fields=["live", "released_at", "release_reason"])
        c = Contribution.objects.select_for_update().get(pk=item.contribution_id)
        if c.status == Contribution.Status.PAID:
            c.status = Contribution.Status.APPROVED
            stamp(c, by=by, action=engagements_actions.CONTRIBUTION_RELEASED, reason=reason)
            c.save(update_fields=["status", "updated_at"])
        released += 1
    return released


def close_payment(
    payment: Payment, *, status: str, by: User | None, reason: str, action: str
) -> None:
    payment.status = status
    payment.closed_reason = reason
    stamp(payment, by=by, action=action, reason=reason)
    payment.save(update_fields=["status", "closed_reason", "updated_at"])
    release_items(payment, by=by, reason=reason)


def put_on_hold(payment: Payment, hold: preflight.Hold, *, by: User | None) -> None:
    payment.status = PS.HELD
    payment.hold_reason = hold.code
    payment.hold_detail = hold.detail
    stamp(payment, by=by, action=actions.PAYMENT_HELD, reason=hold.detail)
    payment.save(update_fields=["status", "hold_reason", "hold_detail", "updated_at"])


def batch_refresh(*, batch: PayoutBatch) -> PayoutBatch:
    """Close a processing batch once no payment in it is still on its way."""
    b = locked_batch(batch)
    if b.status != BS.PROCESSING:
        return b
    statuses = set(b.payments.order_by().values_list("status", flat=True))
    if statuses & {PS.PENDING, PS.PROCESSING}:
        return b
    b.status = BS.COMPLETED_WITH_FAILURES if statuses & {PS.FAILED, PS.HELD} else BS.COMPLETED
    b.completed_at = timezone.now()
    stamp(b, by=None, action=actions.BATCH_COMPLETED)
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


def _account_id(payment: Payment) -> str | None:
    return (
        StripeAccount.objects.filter(consultant_id=payment.consultant_id)
        .values_list("account_id", flat=True)
        .first()
    )


def _fail(p: Payment, *, code: str, message: str, by: User | None = None) -> None:
    """``p`` (locked, processing or failed) fails with this reason, for finance."""
    p.status = PS.FAILED
    p.failure_code = code[:64]
    p.failure_message = message
    # A new failure: whatever was checked with Stripe before no longer holds.
    p.stripe_checked_at = None
    stamp(p, by=by, action=actions.PAYMENT_FAILED, reason=message)
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
    payment: Payment | int,
    transfer_id: str,
    source: str,
    attempt_number: int | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    destination: str | None = None,
    by: User | None = None,
    locked: bool = False,
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
    succeeded. ``locked``: ``payment`` is the instance the caller locked in this
    transaction (it is not locked and read again).
    """
    transfer_id = (transfer_id or "").strip()
    if not transfer_id.startswith("tr_"):
        raise ValidationFailed(_("A Stripe transfer id starts with tr_."), field="transfer_id")
    if locked and isinstance(payment, Payment):
        p = payment
    else:
        p = lock_payment(payment, lock_batch=False)
    if p.rail != Rail.STRIPE:
        raise ValidationFailed(_("Only Stripe payments are paid by a Stripe transfer."))
    if p.status == PS.PAID:
        if p.transfer_id == transfer_id:
            if attempt_number is not None:
                attempt_succeeded(p, number=attempt_number, reference=transfer_id, reason=source)
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
        raise conflict(_("payment"), p.get_status_display())
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
        attempt_succeeded(p, number=attempt_number, reference=transfer_id, reason=source)
    p.status = PS.PAID
    p.transfer_id = transfer_id
    p.paid_at = timezone.now()
    p.failure_code = ""
    p.failure_message = ""
    with one_paid_payment_guard():
        save_with_history(
            p,
            by=by,
            action=actions.PAYMENT_PAID,
            reason=source,
            update_fields=[
                "status",
                "transfer_id",
                "paid_at",
                "failure_code",
                "failure_message",
                "updated_at",
            ],
        )
    mark_contributions_paid(p, by=by)
    # Its receipt: with the database backend the task row commits with the payment.
    enqueue_with_transaction("payments.documents.tasks.issue_receipt", p.pk)
    batch_id = p.batch_id
    transaction.on_commit(lambda: refresh_batch_when_done(batch_id))
    return p


def transfer_problems(
    payment: Payment,
    *,
    amount: Decimal,
    currency: str,
    destination: str | None,
    account_id: str | None,
) -> list[str]:
    """How a transfer Stripe holds (its amount, currency and destination) differs from
    what ``payment`` should have sent to ``account_id``; empty when it fits."""
    problems: list[str] = []
    if amount != payment.amount:
        problems.append(f"amount {amount}, expected {payment.amount}")
    if (currency or "").upper() != payment.currency.upper():
        problems.append(f"currency {currency or '-'}, expected {payment.currency}")
    if account_id is None or destination != account_id:
        problems.append(f"destination {destination or '-'}, expected {account_id or '-'}")
    return problems


def _transfer_mismatch(
    p: Payment, transfer_id: str, problems: list[str], *, attempt_number: int | None = None
) -> None:
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
            stamp(attempt, by=None, action=actions.ATTEMPT_MISMATCH, reason=detail)
            attempt.save()
    message = _(
        "Stripe holds transfer %(transfer)s for this payment, but it does not match it "
        "(%(detail)s). Nothing more was sent; reconcile with Stripe before acting."
    ) % {"transfer": transfer_id, "detail": detail}
    if p.status == PS.FAILED and p.failure_code == "transfer_mismatch":
        return
    _fail(p, code="transfer_mismatch", message=message)


def attempt_succeeded(p: Payment, *, number: int, reference: str, reason: str) -> None:
    """Attempt ``number`` of ``p`` (locked) made transfer ``reference``.

    No row lock of its own: every writer of an attempt holds its payment's row lock
    first (the engine, the webhooks, finance), so the caller's lock on ``p`` keeps it.
    """
    attempt_id = (
        PaymentAttempt.objects.filter(payment_id=p.pk, number=number)
        .exclude(status=PaymentAttempt.Status.SUCCEEDED)
        .order_by("pk")  # not the model's ordering, which joins the payment and batch
        .values_list("pk", flat=True)
        .first()
    )
    if attempt_id is None:
        return
    PaymentAttempt.objects.filter(pk=attempt_id).update(
        status=PaymentAttempt.Status.SUCCEEDED,
        provider_reference=reference,
        finished_at=timezone.now(),
        claimed_by="",
        claimed_until=None,
        next_try_at=None,
    )
    write_history(
        PaymentAttempt, [attempt_id], by=None, action=actions.ATTEMPT_SUCCEEDED, reason=reason
    )


def payment_adopt_transfer(
    *, payment: Payment, live: list[Existing], source: str = "found by listing the transfer group"
) -> bool:
    """Live transfers exist for ``payment`` (locked): record the one that fits it.

    True when the payment is paid by one; False when none fits (it is left failed
    with ``transfer_mismatch``, for finance: nothing more is ever sent for it).
    """
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
        attempt_number=int(str(number)) if str(number or "").isdigit() else None,
        locked=True,
    )
    return True


@transaction.atomic
def payment_record_failure(
    *, payment: Payment | int, code: str, message: str, by: User | None = None
) -> Payment:
    """The provider refused: the payment waits for finance.

    Finance sees ``code`` and ``message``; ``payment_retry`` tries again (with a new
    key, once Stripe confirms nothing exists) or ``payment_cancel`` releases the work
    (once Stripe confirms nothing exists, if it was ever sent). A failed payment that
    fails again for another reason keeps the newer reason.
    """
    code = (code or "").strip() or "failed"
    message = (message or "").strip() or _("The payment could not be made.")
    p = lock_payment(payment, lock_batch=False)
    if p.status == PS.FAILED and p.failure_code == code:
        return p
    if p.status not in (PS.PROCESSING, PS.FAILED):
        raise conflict(_("payment"), p.get_status_display())
    _fail(p, code=code, message=message, by=by)
    return p


@transaction.atomic
def payment_hold(
    *, payment: Payment | int, code: str, detail: str, by: User | None = None
) -> Payment:
    """Hold a payment that has not been sent, with the reason shown (pre-flight again)."""
    if code not in Payment.Hold.values:
        raise ValidationFailed(_("Unknown hold reason."), field="code")
    p = lock_payment(payment, lock_batch=False)
    if p.status == PS.HELD and p.hold_reason == code:
        return p
    if p.status not in (PS.PENDING, PS.PROCESSING) or p.attempts.exists():
        # Once a key has been used, only Stripe's answer decides (never a hold).
        raise conflict(_("payment"), p.get_status_display())
    put_on_hold(p, preflight.Hold(code, detail), by=by)
    batch_id = p.batch_id
    transaction.on_commit(lambda: refresh_batch_when_done(batch_id))
    return p


@transaction.atomic
def payment_flag(*, payment: Payment | int, message: str) -> Payment:
    """Put something in front of finance that no status says; logged as an error too."""
    p = lock_payment(payment, lock_batch=False)
    if message in p.alert:
        return p
    log.error("payment %s needs finance: %s", p.public_id, message)
    stamped = f"{timezone.now():%Y-%m-%d %H:%M} {message}"
    p.alert = f"{p.alert}\n{stamped}".strip()
    stamp(p, by=None, action=actions.PAYMENT_FLAGGED, reason=message)
    p.save(update_fields=["alert", "updated_at"])
    return p


@transaction.atomic
def payment_record_stripe_check(
    *, payment: Payment | int, found: list[Existing], listed_at: datetime
) -> str:
    """What a listing of the transfer group made at ``listed_at`` showed (``found``).

    A live transfer is adopted (paid if it matches, else left failed with
    ``transfer_mismatch``); nothing live lets finance cancel. The listing proves
    nothing if a call could have been in flight when it was made.
    """
    p = lock_payment(payment, lock_batch=False)
    if p.rail != Rail.STRIPE or p.status != PS.FAILED:
        return f"skipped: the payment is {p.status}"
    live = [e for e in found if e.live]
    if live:
        return "paid" if payment_adopt_transfer(payment=p, live=live) else "transfer_mismatch"
    # A call that could have been in flight when Stripe was asked: the listing proves nothing.
    if p.attempts.filter(Q(claimed_until__gt=listed_at) | Q(started_at__gt=listed_at)).exists():
        return "busy"
    p.stripe_checked_at = listed_at
    stamp(p, by=None, action=actions.PAYMENT_STRIPE_CHECKED, reason="no live transfer at Stripe")
    p.save(update_fields=["stripe_checked_at", "updated_at"])
    return "nothing at Stripe"


def return_stripe_payment(p: Payment, *, reason: str, reversed_: bool) -> None:
    """``p`` (locked, paid) came back. Its work is released only once its transfer is
    reversed: at once if it is (``reversed_``), else when the reversal is confirmed."""
    p.status = PS.RETURNED
    p.closed_reason = reason
    p.reversal_status = REVERSAL.DONE if reversed_ else REVERSAL.PENDING
    stamp(p, by=None, action=actions.PAYMENT_RETURNED, reason=reason)
    p.save(update_fields=["status", "closed_reason", "reversal_status", "updated_at"])
    if reversed_:
        release_items(p, by=None, reason=reason)
    else:
        enqueue_on_commit("payments.tasks.reverse_transfer", p.pk)
    enqueue_on_commit("payments.tasks.tell_payment_came_back", p.pk)


def reversal_confirmed(p: Payment, *, reversal_id: str, source: str) -> None:
    p.reversal_status = REVERSAL.DONE
    p.reversal_id = (reversal_id or "")[:64]
    p.reversal_error = ""
    stamp(p, by=None, action=actions.PAYMENT_REVERSAL_CONFIRMED, reason=source)
    p.save(update_fields=["reversal_status", "reversal_id", "reversal_error", "updated_at"])
    release_items(p, by=None, reason=p.closed_reason)


@transaction.atomic
def payment_confirm_reversal(*, payment: Payment | int, reversal_id: str, source: str) -> Payment:
    """The transfer of a returned payment is reversed: its work is released now."""
    p = lock_payment(payment, lock_batch=False)
    if p.status == PS.RETURNED and p.reversal_status in (REVERSAL.PENDING, REVERSAL.FAILED):
        reversal_confirmed(p, reversal_id=reversal_id, source=source)
    return p


@transaction.atomic
def payment_record_reversal_trouble(
    *, payment: Payment | int, code: str, message: str, refused: bool
) -> Payment:
    """A reversal did not happen (``refused``) or its outcome is unknown: finance sees
    it on the payment, and the sweep tries again. The work stays held meanwhile."""
    p = lock_payment(payment, lock_batch=False)
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
    stamp(p, by=None, action=actions.PAYMENT_REVERSAL_FAILED, reason=p.reversal_error)
    p.save(update_fields=["reversal_status", "reversal_error", "reversal_refusals", "updated_at"])
    return p
