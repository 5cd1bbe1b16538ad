"""A payout batch's life: built, submitted, approved, executed (or cancelled), completed.

Each action locks the batch, checks its state, changes it and stamps the history
with the actor; slow work (paying through Stripe) goes to tasks after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from consultants.models import PayoutMethod
from core import limits
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.money import COLUMN_LIMIT, ZERO, format_money, sum_money
from core.tasks import enqueue_many_on_commit
from engagements.models import Contribution
from income.batching import honour_plans
from payments import actions, preflight
from payments.models import Payment, PaymentItem, PayoutBatch, Rail
from payments.services.access import not_a_payee, require_finance
from payments.services.lifecycle import batch_refresh, close_payment, put_on_hold
from payments.services.locks import conflict, locked_batch
from payments.stripe import funding

if TYPE_CHECKING:
    from accounts.models import User
    from consultants.models import Consultant
    from engagements.models import Phase, Study
    from payments.stripe.provider import StripeProvider

PS = Payment.Status
BS = PayoutBatch.Status


@transaction.atomic
def batch_build(
    *,
    by: User,
    cutoff_date: date,
    study: Study | None = None,
    phase: Phase | None = None,
    method: str = "",
    note: str = "",
    today: date | None = None,
    only: Iterable[Contribution] | None = None,
    pay_by: str = "",
) -> PayoutBatch:
    """Gather approved, unpaid work up to ``cutoff_date`` into one payment per consultant.

    Each payment is checked before it can go (see ``payments.preflight.preflight``)
    and held, with the reason, when it must wait.

    ``only`` limits the batch to those contributions (an advance paid at once);
    ``pay_by`` pays everyone in it by that manual method instead of their own.
    """
    require_finance(by)
    today = today or timezone.localdate()
    if not isinstance(cutoff_date, date):
        raise ValidationFailed(
            _("Enter the date up to which approved work is paid."), field="cutoff_date"
        )
    if cutoff_date > today:
        raise ValidationFailed(_("The cut-off date cannot be in the future."), field="cutoff_date")
    if method and method not in PayoutMethod.values:
        raise ValidationFailed(_("Unknown payout method."), field="method")
    if pay_by and (pay_by not in PayoutMethod.values or pay_by == PayoutMethod.STRIPE):
        raise ValidationFailed(_("Choose a manual payout method."), field="pay_by")
    if phase is not None and study is not None and phase.study_id != study.pk:
        raise ValidationFailed(_("That phase belongs to another study."), field="phase")

    contributions = (
        Contribution.objects.filter(preflight.open_items_filter(), date__lte=cutoff_date)
        .select_related("engagement__consultant", "engagement__phase")
        .order_by("engagement__consultant_id", "date", "id")
    )
    if study is not None:
        contributions = contributions.filter(engagement__phase__study=study)
    if phase is not None:
        contributions = contributions.filter(engagement__phase=phase)
    if method:
        contributions = contributions.filter(engagement__consultant__payout_method=method)
    if only is not None:
        contributions = contributions.filter(pk__in=[c.pk for c in only])
    # Lock the rows we are about to claim (PostgreSQL); the live-item index
    # stops a concurrent builder either way.
    by_consultant: dict[int, list[Contribution]] = defaultdict(list)
    for c in contributions.select_for_update(of=("self",)):
        by_consultant[c.engagement.consultant_id].append(c)
    # The consultants' own pay plans: deferred work waits for its month, a split month
    # takes at most its share; each payment with work left out is flagged for finance.
    plan_flags = honour_plans(by_consultant, today=today)
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
    stamp(batch, by=by, action=actions.BATCH_BUILT)
    batch.save()
    going = ZERO
    for items in by_consultant.values():
        consultant = items[0].engagement.consultant
        payment = _add_payment(
            batch=batch,
            consultant=consultant,
            contributions=items,
            by=by,
            today=today,
            pay_by=pay_by,
            plan_flag=plan_flags.get(consultant.pk, ""),
        )
        going = _hold_past_batch_limit(payment, going=going, by=by)
    return batch


def _approved_amount(c: Contribution) -> Decimal:
    """An approved contribution's amount: never None (its check constraint
    ``contribution_approved_is_frozen`` says so)."""
    assert c.amount is not None
    return c.amount


def _hold_past_batch_limit(payment: Payment, *, going: Decimal, by: User) -> Decimal:
    """Hold ``payment`` if it would take what the batch pays past the batch limit;
    the running total of payments that go, after this one."""
    if payment.status == PS.HELD:
        return going
    most = limits.amount_per_batch()
    if going + payment.amount > most:
        put_on_hold(
            payment,
            preflight.Hold(
                Payment.Hold.OVER_LIMIT,
                _(
                    "With this payment the batch would pay %(total)s; a batch pays at most "
                    "%(limit)s. Pay it in the next batch."
                )
                % {"total": format_money(going + payment.amount), "limit": format_money(most)},
            ),
            by=by,
        )
        return going
    return going + payment.amount


def _add_payment(
    *,
    batch: PayoutBatch,
    consultant: Consultant,
    contributions: list[Contribution],
    by: User,
    today: date,
    pay_by: str = "",
    plan_flag: str = "",
) -> Payment:
    method = pay_by or consultant.payout_method
    amount = sum_money(_approved_amount(c) for c in contributions)
    if amount.copy_abs() >= COLUMN_LIMIT:
        # Only work approved before the bounds existed can add up to this.
        raise ValidationFailed(
            _(
                "The approved work of %(consultant)s adds up to %(amount)s, more than a "
                "payment can hold. Correct that work with adjustments first."
            )
            % {"consultant": consultant, "amount": format_money(amount)},
            code="too_large",
        )
    payment = Payment(
        batch=batch,
        consultant=consultant,
        method=method,
        rail=Rail.STRIPE if method == PayoutMethod.STRIPE else Rail.MANUAL,
        amount=amount,
        currency=batch.currency,
        gift_card_store=consultant.gift_card_store if method == PayoutMethod.GIFT_CARD else "",
    )
    stamp(payment, by=by, action=actions.PAYMENT_CREATED)
    payment.save()
    items = [
        PaymentItem(payment=payment, contribution=c, amount=_approved_amount(c))
        for c in contributions
    ]
    try:
        with transaction.atomic():
            for item in items:
                stamp(item, by=by, action=actions.PAYMENT_ITEM_ADDED)
                item.save()
    except IntegrityError:
        raise StateConflict(
            _("Some of this work was just put in another batch. Build the batch again."),
            code="already_in_payment",
        ) from None
    _flag_paid_before(payment, contributions, by=by)
    if plan_flag:
        _flag_pay_plan(payment, plan_flag, by=by)
    hold = preflight.preflight(
        consultant=consultant,
        method=method,
        amount=amount,
        items=items,
        today=today,
        payment=payment,
    )
    if hold is not None:
        put_on_hold(payment, hold, by=by)
    return payment


def _flag_paid_before(payment: Payment, contributions: list[Contribution], *, by: User) -> None:
    """Work that was paid before and came back: the new payment carries a flag with the
    first payment's history, for finance to read before paying it again."""
    history = preflight.paid_before(c.pk for c in contributions)
    if not history:
        return
    message = "\n".join(history[c.pk] for c in contributions if c.pk in history)
    payment.alert = message
    stamp(payment, by=by, action=actions.PAYMENT_FLAGGED, reason=message)
    payment.save(update_fields=["alert", "updated_at"])


def _flag_pay_plan(payment: Payment, message: str, *, by: User) -> None:
    """Work the consultant asked to be paid later was left out: finance sees what and until
    when on the batch and payment pages (the payment's alert, after any paid-before flag)."""
    payment.alert = f"{payment.alert}\n{message}" if payment.alert else message
    stamp(payment, by=by, action=actions.PAYMENT_FLAGGED, reason=message)
    payment.save(update_fields=["alert", "updated_at"])


@transaction.atomic
def batch_submit(*, batch: PayoutBatch, by: User) -> PayoutBatch:
    """Ask a second finance person to approve."""
    require_finance(by)
    b = locked_batch(batch)
    if b.status == BS.PENDING_APPROVAL:
        return b
    if b.status != BS.DRAFT:
        raise conflict(_("batch"), b.get_status_display())
    b.status = BS.PENDING_APPROVAL
    b.submitted_at = timezone.now()
    stamp(b, by=by, action=actions.BATCH_SUBMITTED)
    b.save()
    return b


@transaction.atomic
def batch_approve(*, batch: PayoutBatch, by: User) -> PayoutBatch:
    require_finance(by)
    b = locked_batch(batch)
    if b.status == BS.APPROVED and b.approved_by_id == by.pk:
        return b
    if b.status != BS.PENDING_APPROVAL:
        raise conflict(_("batch"), b.get_status_display())
    if b.created_by_id == by.pk:
        raise NotAllowed(
            _("You built this batch, so another finance person must approve it."), code="own_batch"
        )
    not_a_payee(by, b, _("approve"))
    b.status = BS.APPROVED
    b.approved_by = by
    b.approved_at = timezone.now()
    stamp(b, by=by, action=actions.BATCH_APPROVED)
    b.save()
    return b


@transaction.atomic
def batch_cancel(*, batch: PayoutBatch, by: User, reason: str) -> PayoutBatch:
    """Cancel before execution: every payment still waiting is cancelled, its work released.

    Payments cancelled one by one before keep their own reason.
    """
    require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the batch is cancelled."), field="reason")
    b = locked_batch(batch)
    if b.status not in PayoutBatch.CANCELLABLE:
        raise conflict(_("batch"), b.get_status_display())
    payments = list(b.payments.select_for_update().order_by("pk"))
    if any(p.status not in (PS.PENDING, PS.HELD, PS.CANCELLED) for p in payments):
        # Never the case before execution; should it ever be, money may be on its way.
        raise StateConflict(
            _("Some payments in this batch are being paid or were paid; it cannot be cancelled."),
            code="payments_under_way",
        )
    for payment in payments:
        if payment.status in (PS.PENDING, PS.HELD):
            close_payment(
                payment, status=PS.CANCELLED, by=by, reason=reason, action=actions.PAYMENT_CANCELLED
            )
    b.status = BS.CANCELLED
    b.cancelled_by = by
    b.cancelled_at = timezone.now()
    b.cancel_reason = reason
    stamp(b, by=by, action=actions.BATCH_CANCELLED, reason=reason)
    b.save()
    return b


def batch_execute_funded(
    *,
    batch: PayoutBatch,
    by: User,
    today: date | None = None,
    provider: StripeProvider | None = None,
) -> PayoutBatch:
    """Finance's "execute" (the batch page and the API): ``batch_execute``, once Stripe's
    balance is known to cover what the batch sends through Stripe.

    The balance is read outside any transaction (``payments.stripe.funding``); when it
    does not cover the batch, or cannot be read, a ``StateConflict`` says so and nothing
    changes: no transfer, no payment failed, the batch still approved.
    """
    require_finance(by)
    status = PayoutBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).first()
    if status == BS.APPROVED:  # executed already, or not yet approved: batch_execute says
        funding.require_funds(batch, provider=provider)
    return batch_execute(batch=batch, by=by, today=today)


@transaction.atomic
def batch_execute(*, batch: PayoutBatch, by: User, today: date | None = None) -> PayoutBatch:
    """Start paying an approved batch: one background task per Stripe payment.

    Every pending payment is checked again first (other payments may have been paid
    or started since the batch was built): one that now crosses a line is held with
    its reason instead of going out. Manual payments wait for finance to record the
    hand-over.
    """
    require_finance(by)
    b = locked_batch(batch)
    if b.status in (BS.PROCESSING, BS.COMPLETED, BS.COMPLETED_WITH_FAILURES) and b.executed_by_id:
        return b  # already started: executing twice changes nothing
    if b.status != BS.APPROVED:
        raise conflict(_("batch"), b.get_status_display())
    not_a_payee(by, b, _("execute"))
    b.status = BS.PROCESSING
    b.executed_by = by
    b.executed_at = timezone.now()
    stamp(b, by=by, action=actions.BATCH_EXECUTED)
    b.save()
    pending = list(b.payments.select_for_update().filter(status=PS.PENDING).order_by("pk"))
    holds = preflight.preflight_payments(pending, today=today or timezone.localdate())
    starting = []
    for payment in pending:
        hold = holds[payment.pk]
        if hold is None:
            starting.append(payment)
        else:
            put_on_hold(payment, hold, by=by)
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
        custom_historical_attrs={"history_action": actions.PAYMENT_PROCESSING},
    )
    to_pay = [payment.pk for payment in starting if payment.rail == Rail.STRIPE]
    enqueue_many_on_commit("payments.tasks.pay_payment", [(pk,) for pk in to_pay])
    batch_refresh(batch=b)
    return b
