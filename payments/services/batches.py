"""A payout batch's life: built, submitted, approved, executed (or cancelled), completed.

Each action locks the batch, checks its state, changes it and stamps the history
with the actor; slow work (paying through Stripe) goes to tasks after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, DateTimeField, F, OuterRef, Subquery, TextField, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from consultants.models import Consultant, PayoutMethod
from core import limits
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import history_row, stamp, write_history_in_sql, write_history_rows
from core.money import COLUMN_LIMIT, ZERO, format_money, sum_money
from core.sql import in_ids
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
    from engagements.models import Phase, Study
    from payments.stripe.provider import StripeProvider

PS = Payment.Status
BS = PayoutBatch.Status


# Rows per INSERT or UPDATE when a batch is built (a thousand payments or items each).
BULK = 1000


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

    Each payment is checked before it can go (``payments.preflight``) and held, with
    the reason, when it must wait; one that would take the batch past its limit is
    held too. Work paid before and work a pay plan keeps for later flag the payment.

    Built set by set, in about 25 statements however many consultants (one more per
    thousand payments): the open work is read, and its rows locked, once; the payments
    are inserted in bulk and their items by one ``INSERT … SELECT``; the checks, flags
    and holds are decided for all payments at once; and the history rows the stamped
    saves of the per-payment builder wrote are written in bulk, the same rows (actor,
    action, reason, the state each recorded, in the same order per record).

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

    by_consultant = _open_work(
        cutoff_date=cutoff_date, study=study, phase=phase, method=method, only=only
    )
    # The consultants' own pay plans: deferred work waits for its month, a split month
    # takes at most its share; each payment with work left out is flagged for finance.
    plan_flags = honour_plans(by_consultant, today=today)
    if not by_consultant:
        raise ValidationFailed(
            _("There is no approved, unpaid work up to %(date)s with these filters.")
            % {"date": cutoff_date.isoformat()},
            code="nothing_to_pay",
        )
    consultants = {
        c.pk: c for c in Consultant.objects.only(*PAYEE_FIELDS).filter(in_ids("pk", by_consultant))
    }
    amounts = {}
    for consultant_id, work in by_consultant.items():
        amount = sum_money(_approved_amount(c) for c in work)
        if amount.copy_abs() >= COLUMN_LIMIT:
            # Only work approved before the bounds existed can add up to this.
            raise ValidationFailed(
                _(
                    "The approved work of %(consultant)s adds up to %(amount)s, more than a "
                    "payment can hold. Correct that work with adjustments first."
                )
                % {"consultant": consultants[consultant_id], "amount": format_money(amount)},
                code="too_large",
            )
        amounts[consultant_id] = amount

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
    payments = _insert_payments(
        batch, consultants, by_consultant, amounts=amounts, pay_by=pay_by, by=by
    )
    history: list = []
    # Every change below is made to the payments in memory, each with the history row
    # its own save would have written; the rows are written once, at the end.
    changed: dict[int, Payment] = {}
    _flag_paid_before(payments, by_consultant, by=by, history=history, changed=changed)
    _flag_pay_plans(payments, plan_flags, by=by, history=history, changed=changed)
    _hold(payments, today=today, by=by, history=history, changed=changed)
    write_history_rows(history, batch_size=BULK)
    _store_changes(changed)
    return batch


# What flags and holds change on a payment just built.
CHANGED_FIELDS = ("alert", "status", "hold_reason", "hold_detail", "updated_at")


def _store_changes(changed: dict[int, Payment]) -> None:
    """Write the payments changed in memory in one UPDATE: each takes the state its last
    history row, just written, recorded (what ``bulk_update`` would write, without a
    CASE branch per payment and field built in Python)."""
    if not changed:
        return
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):  # no rows to copy from
        Payment.objects.bulk_update(list(changed.values()), CHANGED_FIELDS, batch_size=BULK)
        return
    history: Any = Payment.history
    last = history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date", "-history_id")
    Payment.objects.filter(in_ids("pk", changed)).update(
        **{name: Subquery(last.values(name)[:1]) for name in CHANGED_FIELDS}
    )


# What a payment is made from, of a consultant (never the encrypted contact details).
PAYEE_FIELDS = ("id", "display_name", "payout_method", "gift_card_store")


def _open_work(
    *,
    cutoff_date: date,
    study: Study | None,
    phase: Phase | None,
    method: str,
    only: Iterable[Contribution] | None,
) -> dict[int, list[Contribution]]:
    """Approved, unpaid work up to ``cutoff_date`` by consultant (in consultant order,
    each one's by date), in one query that locks just those contribution rows."""
    contributions = (
        Contribution.objects.filter(preflight.open_items_filter(), date__lte=cutoff_date)
        .only("id", "amount")
        .annotate(payee_id=F("engagement__consultant_id"))
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
        by_consultant[c.payee_id].append(c)
    return by_consultant


def _approved_amount(c: Contribution) -> Decimal:
    """An approved contribution's amount: never None (its check constraint
    ``contribution_approved_is_frozen`` says so)."""
    assert c.amount is not None
    return c.amount


def _insert_payments(
    batch: PayoutBatch,
    consultants: dict[int, Consultant],
    by_consultant: dict[int, list[Contribution]],
    *,
    amounts: dict[int, Decimal],
    pay_by: str,
    by: User,
) -> list[Payment]:
    """One payment per consultant, with its items and their history rows, in bulk.

    Work another builder put in a live payment since it was read is refused by the
    live-item index: a 409, and nothing of this batch is kept."""
    payments = []
    for consultant_id in by_consultant:
        consultant = consultants[consultant_id]
        method = pay_by or consultant.payout_method
        payments.append(
            Payment(
                batch=batch,
                consultant_id=consultant_id,
                method=method,
                rail=Rail.STRIPE if method == PayoutMethod.STRIPE else Rail.MANUAL,
                amount=amounts[consultant_id],
                currency=batch.currency,
                gift_card_store=consultant.gift_card_store
                if method == PayoutMethod.GIFT_CARD
                else "",
            )
        )
    Payment.objects.bulk_create(payments, batch_size=BULK)
    in_batch = Payment.objects.filter(batch=batch)
    write_history_in_sql(
        in_batch, by=by, action=actions.PAYMENT_CREATED, when=timezone.now(), created=True
    )
    # The items, straight from the contributions read (and locked) above: one
    # INSERT … SELECT, each consultant's in the order of their work.
    items = (
        Contribution.objects.filter(
            in_ids("pk", (c.pk for work in by_consultant.values() for c in work)),
            engagement__consultant__payments__batch=batch,
        )
        .order_by("engagement__consultant_id", "date", "id")
        .values_list(
            "engagement__consultant__payments__id",
            "pk",
            "amount",
            Value(True, output_field=BooleanField()),
            Value(None, output_field=DateTimeField()),
            Value("", output_field=TextField()),
        )
    )
    sql, params = items.query.sql_with_params()
    table, quote = PaymentItem._meta.db_table, connection.ops.quote_name
    columns = ["payment_id", "contribution_id", "amount", "live", "released_at", "release_reason"]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) {sql}", params
            )
    except IntegrityError:
        raise StateConflict(
            _("Some of this work was just put in another batch. Build the batch again."),
            code="already_in_payment",
        ) from None
    write_history_in_sql(
        PaymentItem.objects.filter(payment__batch=batch),
        by=by,
        action=actions.PAYMENT_ITEM_ADDED,
        when=timezone.now(),
        created=True,
    )
    return payments


def _change(
    payment: Payment,
    *,
    by: User,
    action: str,
    reason: str,
    when: datetime,
    history: list,
    changed: dict[int, Payment],
) -> None:
    """Record a change just made to ``payment`` in memory, as its stamped save would."""
    payment.updated_at = when
    history.append(history_row(payment, by=by, action=action, reason=reason, when=when))
    changed[payment.pk] = payment


def _flag_paid_before(
    payments: list[Payment],
    by_consultant: dict[int, list[Contribution]],
    *,
    by: User,
    history: list,
    changed: dict[int, Payment],
) -> None:
    """Work that was paid before and came back: the new payment carries a flag with the
    first payment's history, for finance to read before paying it again."""
    lines = preflight.paid_before(c.pk for work in by_consultant.values() for c in work)
    if not lines:
        return
    messages = {
        consultant_id: "\n".join(lines[c.pk] for c in work if c.pk in lines)
        for consultant_id, work in by_consultant.items()
    }
    _flag(payments, messages, by=by, history=history, changed=changed)


def _flag_pay_plans(
    payments: list[Payment],
    plan_flags: dict[int, str],
    *,
    by: User,
    history: list,
    changed: dict[int, Payment],
) -> None:
    """Work the consultant asked to be paid later was left out: finance sees what and until
    when on the batch and payment pages (the payment's alert, after any paid-before flag)."""
    if plan_flags:
        _flag(payments, plan_flags, by=by, history=history, changed=changed)


def _flag(
    payments: list[Payment],
    messages: dict[int, str],
    *,
    by: User,
    history: list,
    changed: dict[int, Payment],
) -> None:
    """Add each consultant's message to their payment's alert (after any earlier flag),
    with the history row its stamped save would write."""
    when = timezone.now()
    for payment in payments:
        message = messages.get(payment.consultant_id, "")
        if message:
            payment.alert = f"{payment.alert}\n{message}" if payment.alert else message
            _change(
                payment,
                by=by,
                action=actions.PAYMENT_FLAGGED,
                reason=message,
                when=when,
                history=history,
                changed=changed,
            )


def _hold(
    payments: list[Payment],
    *,
    today: date,
    by: User,
    history: list,
    changed: dict[int, Payment],
) -> None:
    """Hold, with the reason (as ``put_on_hold`` does), each payment pre-flight stops
    (all checked at once), then each that would take what the batch pays past the batch
    limit, counting in order only the payments that go."""
    holds = preflight.preflight_payments(payments, today=today)
    most = limits.amount_per_batch()
    going = ZERO
    when = timezone.now()
    for payment in payments:
        hold = holds[payment.pk]
        if hold is None:
            if going + payment.amount > most:
                hold = preflight.Hold(
                    Payment.Hold.OVER_LIMIT,
                    _(
                        "With this payment the batch would pay %(total)s; a batch pays at most "
                        "%(limit)s. Pay it in the next batch."
                    )
                    % {
                        "total": format_money(going + payment.amount),
                        "limit": format_money(most),
                    },
                )
            else:
                going += payment.amount
                continue
        payment.status = PS.HELD
        payment.hold_reason = hold.code
        payment.hold_detail = hold.detail
        _change(
            payment,
            by=by,
            action=actions.PAYMENT_HELD,
            reason=hold.detail,
            when=when,
            history=history,
            changed=changed,
        )


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
