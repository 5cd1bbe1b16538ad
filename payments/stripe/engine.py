"""The execution engine: drive one Stripe payment forward, exactly once.

``pay(payment_id)`` is what the ``pay_payment`` task runs. It may run twice, at
the same time on two workers, be killed at any line, and run again; the
consultant is still paid once. How:

1. **The key before the call.** Under the payment's row lock, the current attempt
   is found or minted: its idempotency key *and the exact request* are committed
   before Stripe is called. Every later call for that attempt sends the same
   request under the same key, so Stripe answers it at most once.
2. **One caller at a time.** The worker that calls writes a claim on the attempt
   (``claimed_by``/``claimed_until``, longer than its longest call) in the same
   short transaction; another worker that finds a live claim leaves the payment
   alone. Should a claim expire under a slow worker, the second call carries the
   same key, which is harmless: the same key twice is safe, two keys are not.
3. **The call outside the database.** No transaction or lock is held while
   Stripe is called (invariant 10). The answer is recorded in a second short
   transaction that re-checks the state first and never moves a payment back.
4. **A new key only after asking.** A new attempt (a new key) is minted only when
   the previous one is over (Stripe refused it and stored the refusal, or kept a
   5xx under it, or the key is near Stripe's 24-hour memory) *and* listing the
   payment's transfer group shows no transfer. If one exists it is adopted.

Outcomes (STRIPE.md): connection errors, timeouts, 409 and 5xx leave the outcome
unknown: the attempt waits (``next_try_at``, exponential backoff) and the task is
enqueued again for then, same key; 429 likewise. A refusal (400/404) fails the
payment with its reason for finance; an idempotency error is a bug and fails it
loudly without a new key; bad credentials fail it and are logged as configuration.
A refusal after an earlier try under the same key had an unknown outcome (or one
that came with a transfer that does not match) fails the payment but leaves the
attempt *unknown*: a transfer may exist, so a retry lists first, and cancelling
waits for ``check_with_stripe`` (a listing that finds nothing live).
A worker that dies anywhere is covered by ``sweep()`` (``manage.py payments_sweep``),
which enqueues the task again once the attempt's claim has expired; it also tries
again the reversals of returned payments that are not confirmed yet.

Every function here runs outside any transaction (the tasks in ``payments.tasks``
call them), so the tasks it enqueues again are enqueued at once, named by their
dotted path (``payments.tasks`` imports this module).
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from core.errors import StateConflict
from core.history import save_with_history, stamp
from core.tasks import resolve
from payments import actions
from payments.documents.models import Receipt
from payments.models import Payment, PaymentAttempt, PayoutBatch, Rail, StripeAccount
from payments.providers.base import Executed, Existing, PaymentProvider, ProviderError
from payments.providers.manual import ManualProvider
from payments.services import lifecycle
from payments.services.locks import lock_payment
from payments.stripe.provider import StripeProvider

if TYPE_CHECKING:
    import stripe

REVERSAL = Payment.Reversal

log = logging.getLogger("payments.execution")  # the logger's name predates the move

PS = Payment.Status
AS = PaymentAttempt.Status

# What ``pay`` returns (the task's return value; tests read it).
PAID = "paid"
FAILED = "failed"
HELD = "held"
RETRY = "retry"  # the outcome is unknown; the same key is used again later
BUSY = "busy"  # another worker is calling Stripe for this payment now
WAITING = "waiting"  # a retry is scheduled for later
SKIPPED = "skipped"  # nothing to do: the payment is not processing


@dataclass
class _Step:
    outcome: str = ""
    attempt: PaymentAttempt | None = None
    payment: Payment | None = None
    list_first: bool = False  # ask Stripe what exists before using (or minting) a key
    reason: str = ""  # why the listing is needed (recorded on the attempt it ends)


# --- timing -------------------------------------------------------------------------------


def claim_seconds() -> float:
    """Longer than the longest call the SDK can make (each try, plus its backoff)."""
    retries = settings.STRIPE_MAX_NETWORK_RETRIES
    return (
        settings.STRIPE_TIMEOUT * (retries + 1)
        + 5 * retries
        + settings.PAYMENTS_CLAIM_MARGIN_SECONDS
    )


def backoff_seconds(tries: int, retry_after: float | None = None) -> float:
    base = settings.PAYMENTS_RETRY_BASE_SECONDS
    delay = min(base * 2 ** max(tries - 1, 0), settings.PAYMENTS_RETRY_MAX_SECONDS)
    delay *= random.uniform(0.8, 1.2)  # spread a burst of retries
    return max(delay, retry_after or 0.0)


def _key_too_old(attempt: PaymentAttempt, now: datetime) -> bool:
    return attempt.started_at < now - timedelta(hours=settings.STRIPE_KEY_MAX_AGE_HOURS)


# --- the engine -----------------------------------------------------------------------------


def pay(payment_id: int, *, provider: PaymentProvider | None = None) -> str:
    """Move one payment as far as it can go now; returns one of the outcomes above."""
    worker = uuid.uuid4().hex
    step = _claim(payment_id, worker)
    if step.outcome:
        return step.outcome
    # A step without an outcome carries the payment and the attempt to call with.
    assert step.payment is not None and step.attempt is not None
    payment = step.payment
    provider = provider or provider_for(payment)
    if step.list_first:
        try:
            found = provider.find_existing(payment)
        except ProviderError as exc:
            return _listing_failed(payment_id, step.attempt, exc)
        step = _after_listing(payment_id, step.attempt, found, worker, step.reason)
        if step.outcome:
            return step.outcome
    assert step.payment is not None and step.attempt is not None  # as above
    payment, attempt = step.payment, step.attempt
    try:
        executed = provider.execute(payment, attempt)
    except ProviderError as exc:
        return _record_error(payment_id, attempt.pk, worker, exc, provider)
    return _record_success(payment_id, attempt.number, executed)


def provider_for(
    payment: Payment, *, stripe_client: stripe.StripeClient | None = None
) -> PaymentProvider:
    """The provider that moves this payment's money."""
    if payment.rail == Rail.STRIPE:
        return StripeProvider(client=stripe_client)
    return ManualProvider()


def _lock(payment_id: int) -> Payment:
    # The payment row only, never its batch row (see ``lock_payments``). Not the
    # consultant: their contact fields are encrypted, and paying needs none of them.
    return lock_payment(payment_id, lock_batch=False)


def _latest_attempt(payment: Payment) -> PaymentAttempt | None:
    return payment.attempts.select_for_update().order_by("-number").first()


@transaction.atomic
def _claim(payment_id: int, worker: str) -> _Step:
    """Find or mint the attempt to call with, and claim it; or say why not."""
    p = _lock(payment_id)
    if p.status != PS.PROCESSING or p.rail != Rail.STRIPE:
        return _Step(outcome=SKIPPED)
    now = timezone.now()
    attempt = _latest_attempt(p)
    if attempt is None:
        account = StripeAccount.objects.filter(consultant_id=p.consultant_id).first()
        if account is None or not account.ready:
            _hold(p, account)
            return _Step(outcome=HELD)
        return _mint(p, number=1, worker=worker, now=now, account=account)
    if attempt.status == AS.SUCCEEDED:
        # Recorded as succeeded but the payment is not paid: finish the record.
        lifecycle.payment_record_transfer(
            payment=p,
            transfer_id=attempt.provider_reference,
            source="attempt already succeeded",
            locked=True,
        )
        return _Step(outcome=PAID)
    if attempt.status == AS.FAILED or (attempt.status == AS.UNKNOWN and attempt.finished_at):
        # A retry of a failed payment: a new key, but only once Stripe shows nothing exists
        # (its last key may have made a transfer if an earlier try's outcome was unknown).
        return _Step(attempt=attempt, payment=p, list_first=True, reason="retry")
    if attempt.claimed_until and attempt.claimed_until > now and attempt.claimed_by != worker:
        return _Step(outcome=BUSY)
    if attempt.next_try_at and attempt.next_try_at > now:
        return _Step(outcome=WAITING)
    if _key_too_old(attempt, now):
        return _Step(attempt=attempt, payment=p, list_first=True, reason="key_expired")
    if attempt.status == AS.UNKNOWN and attempt.error_code.endswith(":settled"):
        return _Step(attempt=attempt, payment=p, list_first=True, reason="stored_error")
    _take(attempt, worker, now)
    return _Step(attempt=attempt, payment=p)


def _take(attempt: PaymentAttempt, worker: str, now: datetime) -> None:
    """Claim the attempt for this worker's call (bookkeeping: no history row)."""
    attempt.claimed_by = worker
    attempt.claimed_until = now + timedelta(seconds=claim_seconds())
    attempt.tries += 1
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        claimed_by=attempt.claimed_by, claimed_until=attempt.claimed_until, tries=attempt.tries
    )


def _hold(p: Payment, account: StripeAccount | None) -> None:
    """Pre-flight once more before a first key: the account must still be able to receive."""
    detail = (
        Payment.Hold.ACCOUNT_NOT_READY.label
        if account is not None
        else "The consultant has not started Stripe onboarding."
    )
    lifecycle.payment_hold(payment=p, code=Payment.Hold.ACCOUNT_NOT_READY, detail=str(detail))


def _mint(
    p: Payment,
    *,
    number: int,
    worker: str,
    now: datetime,
    account: StripeAccount | None = None,
) -> _Step:
    """A new attempt: its key and exact request are stored (and committed) before any call."""
    provider = provider_for(p)
    try:
        request = provider.prepare(p, number, account=account)
    except ProviderError as exc:
        lifecycle.payment_record_failure(payment=p, code=exc.code, message=exc.message)
        return _Step(outcome=FAILED)
    attempt = PaymentAttempt(
        payment=p,
        number=number,
        idempotency_key=f"honora-{p.public_id}-{number}-{uuid.uuid4().hex[:12]}",
        request=request,
        claimed_by=worker,
        claimed_until=now + timedelta(seconds=claim_seconds()),
        tries=1,
    )
    save_with_history(attempt, by=None, action=actions.ATTEMPT_STARTED)
    return _Step(attempt=attempt, payment=p)


@transaction.atomic
def _after_listing(
    payment_id: int,
    attempt: PaymentAttempt,
    found: list[Existing],
    worker: str,
    reason: str,
) -> _Step:
    """Stripe has been asked what exists: adopt it, or end the old key and mint a new one."""
    p = _lock(payment_id)
    if p.status != PS.PROCESSING:
        return _Step(outcome=SKIPPED)
    latest = _latest_attempt(p)
    if latest is None or latest.pk != attempt.pk or latest.status != attempt.status:
        # Someone else moved on meanwhile (minted, claimed or recorded): leave it to them.
        return _Step(outcome=BUSY)
    live = [e for e in found if e.live]
    if live:
        return _adopt(p, latest, live)
    now = timezone.now()
    if latest.status != AS.FAILED:
        if latest.claimed_until and latest.claimed_until > now and latest.claimed_by != worker:
            return _Step(outcome=BUSY)
        messages = {
            "key_expired": "Stripe may have forgotten this key; no transfer exists.",
            "stored_error": "Stripe kept an error under this key; no transfer exists.",
        }
        latest.status = AS.FAILED
        latest.error_code = reason
        latest.error_message = messages.get(reason, "No transfer exists.")
        latest.finished_at = now
        latest.claimed_by, latest.claimed_until, latest.next_try_at = "", None, None
        stamp(latest, by=None, action=actions.ATTEMPT_ENDED, reason=latest.error_message)
        latest.save()
        if reason == "stored_error" and latest.number >= settings.PAYMENTS_MAX_AUTOMATIC_ATTEMPTS:
            lifecycle.payment_record_failure(
                payment=p,
                code="stripe_error",
                message="Stripe kept failing with an internal error; nothing was transferred. "
                "Retry later.",
            )
            return _Step(outcome=FAILED)
    return _mint(p, number=latest.number + 1, worker=worker, now=now)


def _adopt(p: Payment, attempt: PaymentAttempt, live: list[Existing]) -> _Step:
    """A transfer for this payment exists: record it (if it is the right one)."""
    if not lifecycle.payment_adopt_transfer(payment=p, live=live):
        return _Step(outcome=FAILED)
    if attempt.status in (AS.STARTED, AS.UNKNOWN):
        attempt.refresh_from_db()
    if attempt.status in (AS.STARTED, AS.UNKNOWN):
        # The transfer came from an earlier key than this open attempt's: end it.
        attempt.status = AS.FAILED
        attempt.error_code = "superseded"
        attempt.error_message = "An earlier attempt's transfer was found."
        attempt.finished_at = timezone.now()
        attempt.claimed_by, attempt.claimed_until, attempt.next_try_at = "", None, None
        stamp(attempt, by=None, action=actions.ATTEMPT_ENDED, reason=attempt.error_message)
        attempt.save()
    return _Step(outcome=PAID)


def _record_success(payment_id: int, number: int, executed: Executed) -> str:
    try:
        lifecycle.payment_record_transfer(
            payment=Payment(pk=payment_id),
            transfer_id=executed.reference,
            source="Stripe replayed the transfer" if executed.replayed else "Stripe transfer",
            attempt_number=number,
        )
    except StateConflict as exc:
        # Closed meanwhile (say, reversed and returned): the payment stays as it is, and
        # the attempt records what Stripe answered.
        log.warning("payment %s: transfer not applied: %s", payment_id, exc.code)
        with transaction.atomic():
            p = _lock(payment_id)
            lifecycle.attempt_succeeded(
                p, number=number, reference=executed.reference, reason=exc.code
            )
            if p.transfer_id != executed.reference:
                lifecycle.payment_flag(
                    payment=p,
                    message=f"Stripe made transfer {executed.reference} for this payment, "
                    f"which is {p.status}: its work may be paid twice. Reverse the transfer "
                    "in Stripe, or reconcile.",
                )
        return SKIPPED
    return PAID


def _record_error(
    payment_id: int, attempt_id: int, worker: str, exc: ProviderError, provider: PaymentProvider
) -> str:
    if exc.kind == ProviderError.CONFIGURATION:
        log.error("stripe configuration: %s (payment id %s)", exc.code, payment_id)
    elif exc.kind == ProviderError.BUG:
        log.error("stripe refused a request as a bug: %s (payment id %s)", exc.code, payment_id)
    with transaction.atomic():
        p = _lock(payment_id)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.status in (AS.SUCCEEDED, AS.FAILED) or p.status != PS.PROCESSING:
            return SKIPPED  # another call under this key already settled it
        now = timezone.now()
        attempt.claimed_by, attempt.claimed_until = "", None
        if exc.kind == ProviderError.UNKNOWN:
            attempt.status = AS.UNKNOWN
            attempt.error_code = f"{exc.code}:settled" if exc.settled else exc.code
            attempt.error_message = exc.message[:2000]
            # A settled key is not called again: the engine asks what exists at once.
            attempt.next_try_at = (
                None
                if exc.settled
                else now + timedelta(seconds=backoff_seconds(attempt.tries, exc.retry_after))
            )
            stamp(attempt, by=None, action=actions.ATTEMPT_UNKNOWN, reason=exc.code)
            attempt.save()
            next_try_at = attempt.next_try_at
        else:
            # "Failed" says nothing was created. A refusal proves that only when every
            # try under this key was answered; after an unknown outcome (or when Stripe
            # answered with a transfer after all) the attempt stays unknown.
            unsure = attempt.status == AS.UNKNOWN or bool(exc.reference)
            attempt.status = AS.UNKNOWN if unsure else AS.FAILED
            attempt.error_code = exc.code[:64]
            attempt.error_message = exc.message[:2000]
            if exc.reference:
                attempt.provider_reference = exc.reference[:64]
            attempt.finished_at = now
            attempt.next_try_at = None
            action = actions.ATTEMPT_UNKNOWN if unsure else actions.ATTEMPT_FAILED
            stamp(attempt, by=None, action=action, reason=exc.code)
            attempt.save()
            lifecycle.payment_record_failure(
                payment=p, code=exc.code, message=_finance_message(exc, unsure=unsure)
            )
            return FAILED
    if exc.settled:
        # Calling again with this key only replays the error: ask what exists now.
        return pay(payment_id, provider=provider)
    _later("payments.tasks.pay_payment", next_try_at, payment_id)
    return RETRY


def _listing_failed(payment_id: int, attempt: PaymentAttempt, exc: ProviderError) -> str:
    """Stripe could not be asked; nothing changes and the task tries again later."""
    if exc.kind != ProviderError.UNKNOWN:
        log.error("stripe listing failed: %s (payment id %s)", exc.code, payment_id)
    when = timezone.now() + timedelta(seconds=backoff_seconds(attempt.tries or 1))
    _later("payments.tasks.pay_payment", when, payment_id)
    return RETRY


def _finance_message(exc: ProviderError, *, unsure: bool = False) -> str:
    if exc.kind == ProviderError.CONFIGURATION:
        message = (
            "Stripe refused Honora's credentials or settings. An administrator must fix "
            "the Stripe configuration, then retry."
        )
    elif exc.kind == ProviderError.BUG:
        message = (
            "Honora sent Stripe a request it must never send (a bug). Ask for it to be "
            "checked before retrying."
        )
    else:
        message = exc.message
    if unsure:
        return (
            f"{message} An earlier call for this payment got no answer, so Stripe may hold "
            "a transfer for it: check with Stripe before cancelling."
        )
    if exc.kind in (ProviderError.CONFIGURATION, ProviderError.BUG):
        return f"{message} Nothing was sent."
    return message


def _later(task: str, when: datetime | None, *args: object) -> None:
    """Run ``task`` (a dotted path) again at ``when``, or leave it to the sweep if the
    backend cannot wait. Outside any transaction: enqueued at once."""
    t = resolve(task)
    if getattr(t.get_backend(), "supports_defer", False):
        t.using(run_after=when).enqueue(*args)


# --- checking with Stripe before cancelling; taking a transfer back -------------------------


def check_with_stripe(payment_id: int, *, provider: PaymentProvider | None = None) -> str:
    """List a failed payment's transfer group (outside any transaction) and record it.

    What the ``check_with_stripe`` task runs: a live transfer is adopted; nothing
    live lets finance cancel the payment. Asked while a call could be in flight, it
    proves nothing and is asked again later.
    """
    task = "payments.tasks.check_with_stripe"
    listed_at = timezone.now()
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.rail != Rail.STRIPE or payment.status != PS.FAILED:
        return SKIPPED
    again = listed_at + timedelta(seconds=claim_seconds())
    if payment.attempts.filter(claimed_until__gt=listed_at).exists():
        _later(task, again, payment_id)
        return BUSY
    provider = provider or provider_for(payment)
    try:
        found = provider.find_existing(payment)
    except ProviderError as exc:
        log.warning("stripe listing failed: %s (payment id %s)", exc.code, payment_id)
        _later(task, listed_at + timedelta(seconds=backoff_seconds(1)), payment_id)
        return RETRY
    outcome = lifecycle.payment_record_stripe_check(
        payment=payment, found=found, listed_at=listed_at
    )
    if outcome == BUSY:
        _later(task, again, payment_id)
    return outcome


def reverse(payment_id: int, *, provider: PaymentProvider | None = None) -> str:
    """Take back the transfer of a returned payment whose bank payout failed.

    What the ``reverse_transfer`` task runs. Its work is released once the reversal
    is confirmed, so the money that paid it comes back before it is paid again. A
    refusal is shown to finance on the payment and tried again by the sweep.
    """
    payment = Payment.objects.filter(pk=payment_id).first()
    if (
        payment is None
        or payment.status != PS.RETURNED
        or payment.reversal_status not in (REVERSAL.PENDING, REVERSAL.FAILED)
        or not payment.transfer_id
    ):
        return "nothing to reverse"
    provider = provider or provider_for(payment)
    try:
        reference = provider.reverse(payment)
    except ProviderError as exc:
        refused = exc.kind != ProviderError.UNKNOWN
        if refused:
            log.error("payment %s: reversal refused: %s", payment.public_id, exc.code)
        lifecycle.payment_record_reversal_trouble(
            payment=payment, code=exc.code, message=exc.message, refused=refused
        )
        if refused:
            return f"not reversed: {exc.code}"
        when = timezone.now() + timedelta(seconds=backoff_seconds(1, exc.retry_after))
        _later("payments.tasks.reverse_transfer", when, payment_id)
        return f"retry: {exc.code}"
    lifecycle.payment_confirm_reversal(
        payment=payment, reversal_id=reference, source="the reversal call succeeded"
    )
    return "reversed"


# --- the sweep ----------------------------------------------------------------------------


def stuck_payments(*, stale_after: float | None = None) -> list[int]:
    """Processing Stripe payments that no live task seems to be moving forward.

    - no attempt yet, untouched for ``stale_after`` seconds (the task was lost, or its
      worker died before it minted a key);
    - a started or unknown attempt whose claim has expired and whose retry time has
      passed by ``stale_after`` (its worker died mid-call, or its retry task was lost);
    - a failed attempt on a payment finance retried ``stale_after`` seconds ago.
    """
    stale = settings.PAYMENTS_SWEEP_AFTER_SECONDS if stale_after is None else stale_after
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale)
    latest = PaymentAttempt.objects.filter(payment=OuterRef("pk")).order_by("-number")
    rows = (
        Payment.objects.filter(status=PS.PROCESSING, rail=Rail.STRIPE)
        .annotate(
            a_status=Subquery(latest.values("status")[:1]),
            a_claimed_until=Subquery(latest.values("claimed_until")[:1]),
            a_next_try_at=Subquery(latest.values("next_try_at")[:1]),
        )
        .filter(
            Q(a_status__isnull=True, updated_at__lte=cutoff)
            | Q(
                a_status__in=[AS.STARTED, AS.UNKNOWN],
                a_claimed_until__isnull=True,
                a_next_try_at__isnull=True,
                updated_at__lte=cutoff,
            )
            | Q(
                a_status__in=[AS.STARTED, AS.UNKNOWN],
                a_claimed_until__lte=now,
                a_next_try_at__isnull=True,
            )
            | Q(a_status__in=[AS.STARTED, AS.UNKNOWN], a_next_try_at__lte=cutoff)
            | Q(a_status=AS.FAILED, updated_at__lte=cutoff)
        )
        .values_list("pk", flat=True)
    )
    return list(rows)


# A refused reversal is tried again less often than one whose outcome is unknown.
REFUSED_REVERSAL_BACKOFF = 12


def stuck_reversals(*, stale_after: float | None = None) -> list[int]:
    """Returned payments whose reversal is not confirmed and no task seems to be moving."""
    stale = settings.PAYMENTS_SWEEP_AFTER_SECONDS if stale_after is None else stale_after
    now = timezone.now()
    return list(
        Payment.objects.filter(status=PS.RETURNED)
        .filter(
            Q(reversal_status=REVERSAL.PENDING, updated_at__lte=now - timedelta(seconds=stale))
            | Q(
                reversal_status=REVERSAL.FAILED,
                updated_at__lte=now - timedelta(seconds=stale * REFUSED_REVERSAL_BACKOFF),
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def sweep(*, stale_after: float | None = None) -> dict[str, int]:
    """Enqueue the task again for stuck payments and reversals; close batches that are done."""
    stuck = stuck_payments(stale_after=stale_after)
    for payment_id in stuck:
        resolve("payments.tasks.pay_payment").enqueue(payment_id)
    reversals = stuck_reversals(stale_after=stale_after)
    for payment_id in reversals:
        resolve("payments.tasks.reverse_transfer").enqueue(payment_id)
    receipts = stuck_receipts(stale_after=stale_after)
    for payment_id in receipts:
        resolve("payments.documents.tasks.issue_receipt").enqueue(payment_id)
    closed = 0
    for batch_id in PayoutBatch.objects.filter(status=PayoutBatch.Status.PROCESSING).values_list(
        "pk", flat=True
    ):
        closed += lifecycle.refresh_batch_when_done(batch_id)
    return {
        "enqueued": len(stuck),
        "reversals": len(reversals),
        "receipts": len(receipts),
        "batches_closed": closed,
    }


def stuck_receipts(*, stale_after: float | None = None) -> list[int]:
    """Paid payments whose receipt in force is missing or not rendered ``stale_after``
    seconds after they were paid.

    Paying commits first and enqueues the receipt after: a worker killed between the
    two, or while rendering, leaves a paid payment without its receipt, and only this
    finds it. Issuing a receipt is safe to run twice (``receipt_issue``).
    """
    stale = settings.PAYMENTS_SWEEP_AFTER_SECONDS if stale_after is None else stale_after
    cutoff = timezone.now() - timedelta(seconds=stale)
    rendered = Receipt.objects.filter(
        payment=OuterRef("pk"), replaced_by__isnull=True, rendered_at__isnull=False
    )
    return list(
        Payment.objects.filter(status=PS.PAID, paid_at__lte=cutoff)
        .filter(~Exists(rendered))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
