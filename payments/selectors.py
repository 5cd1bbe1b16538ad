"""Reads about payouts that the finance pages, the portal and the API share.

Every function runs a fixed number of queries, however many payments or items
a batch holds: lists are joined or prefetched, totals are aggregated in SQL.
Consultants appear by display name only; nothing here reads the identity vault.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, cast

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consultants.models import Consultant, PayoutMethod
from core.history import HistoryEntry, history_entries
from engagements.models import Contribution
from payments.documents.models import AnnualStatement, Receipt
from payments.models import (
    Payment,
    PaymentAttempt,
    PaymentItem,
    PayoutBatch,
    Rail,
    StripeAccount,
    StripeSetupFailure,
    payment_status_label,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django_stubs_ext import StrOrPromise

    from accounts.models import User

ZERO = Decimal("0.00")
PS = Payment.Status
BS = PayoutBatch.Status

FINANCE_PERMISSION = "payments.access_finance"


def is_finance(user: User | AnonymousUser | None) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(FINANCE_PERMISSION))


# --- who sees what ---------------------------------------------------------------------


# A consultant's contact fields are encrypted: lists never load (or decrypt) them.
CONTACT_FIELDS = ("consultant__email", "consultant__phone", "consultant__safe_contact_notes")


def _items_prefetch() -> Prefetch:
    return Prefetch(
        "items",
        queryset=PaymentItem.objects.select_related(
            "contribution", "contribution__engagement__phase"
        ).order_by("contribution__date", "id"),
    )


def payment_rows(qs: QuerySet[Payment]) -> QuerySet[Payment]:
    """Payments with what a list shows: batch, consultant, items (three queries)."""
    return (
        qs.select_related("batch", "consultant")
        .defer(*CONTACT_FIELDS)
        .prefetch_related(_items_prefetch())
    )


def payments_visible_to(user: User | AnonymousUser | None) -> QuerySet[Payment]:
    """Finance sees every payment; a consultant only their own; anyone else none."""
    if not (user and user.is_authenticated):
        return Payment.objects.none()
    if is_finance(user):
        return Payment.objects.all()
    consultant = getattr(user, "consultant", None)
    if consultant is None:
        return Payment.objects.none()
    return Payment.objects.filter(consultant=consultant)


def batches_visible_to(user: User | AnonymousUser | None) -> QuerySet[PayoutBatch]:
    if not is_finance(user):
        return PayoutBatch.objects.none()
    return PayoutBatch.objects.all()


def batch_rows(qs: QuerySet[PayoutBatch]) -> QuerySet[PayoutBatch]:
    """Batches with their builder, filters and payment totals, in one query."""
    return qs.select_related("created_by", "approved_by", "study", "phase").annotate(
        payment_count=Count("payments", distinct=True),
        held_count=Count("payments", filter=Q(payments__status=PS.HELD), distinct=True),
        total=Sum("payments__amount"),
    )


# --- one batch -------------------------------------------------------------------------


@dataclass
class MethodTotal:
    method: str
    label: str
    count: int = 0
    amount: Decimal = ZERO
    held_count: int = 0
    held_amount: Decimal = ZERO


@dataclass
class StatusCount:
    status: str
    label: str
    count: int


@dataclass
class BatchSummary:
    batch: PayoutBatch
    total: Decimal
    payment_count: int
    by_method: list[MethodTotal]
    by_status: list[StatusCount]
    flags: list[Payment]
    payee_user_ids: set[int] = field(default_factory=set)

    @property
    def held_amount(self) -> Decimal:
        return sum((m.held_amount for m in self.by_method), ZERO)


def _by_status(counts: dict[tuple[str, str], int]) -> list[StatusCount]:
    """Counts by (status, rail) as one line per label, in the order of the statuses:
    processing payments count as "Paying" (Stripe) or "Waiting for hand-over" (manual)."""
    lines: dict[tuple[str, str], int] = {}
    for s in PS.values:
        for rail in Rail.values:
            if counts.get((s, rail)):
                key = (s, payment_status_label(s, rail))
                lines[key] = lines.get(key, 0) + counts[(s, rail)]
    return [StatusCount(s, label, n) for (s, label), n in lines.items()]


def batch_summaries(batches: Iterable[PayoutBatch]) -> dict[int, BatchSummary]:
    """Totals by method and by status, every pre-flight flag and who is paid, for each
    batch given (three queries, however many batches and payments)."""
    by_pk: dict[int, PayoutBatch] = {b.pk: b for b in batches}
    if not by_pk:
        return {}
    payments = Payment.objects.filter(batch_id__in=by_pk)
    rows = (
        payments.order_by()
        .values("batch_id", "method", "rail", "status")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    labels = dict(PayoutMethod.choices)
    methods: dict[int, dict[str, MethodTotal]] = {pk: {} for pk in by_pk}
    statuses: dict[int, dict[tuple[str, str], int]] = {pk: {} for pk in by_pk}
    for row in rows:
        method = row["method"]
        m = methods[row["batch_id"]].setdefault(
            method, MethodTotal(method, str(labels.get(method, method)))
        )
        amount = row["amount"] or ZERO
        m.count += row["n"]
        m.amount += amount
        if row["status"] == PS.HELD:
            m.held_count += row["n"]
            m.held_amount += amount
        counts = statuses[row["batch_id"]]
        key = (row["status"], row["rail"])
        counts[key] = counts.get(key, 0) + row["n"]
    flags: dict[int, list[Payment]] = {pk: [] for pk in by_pk}
    for p in (
        payments.filter(status=PS.HELD)
        .select_related("consultant")
        .defer(*CONTACT_FIELDS)
        .order_by("consultant__display_name", "id")
    ):
        flags[p.batch_id].append(p)
    payees = batch_payee_user_ids(by_pk)
    summaries = {}
    for pk, batch in by_pk.items():
        by_method = [methods[pk][m] for m in PayoutMethod.values if m in methods[pk]]
        summaries[pk] = BatchSummary(
            batch=batch,
            total=sum((m.amount for m in by_method), ZERO),
            payment_count=sum(m.count for m in by_method),
            by_method=by_method,
            by_status=_by_status(statuses[pk]),
            flags=flags[pk],
            payee_user_ids=payees[pk],
        )
    return summaries


def batch_payee_user_ids(batch_ids: Iterable[int]) -> dict[int, set[int]]:
    """The users paid in each batch (separation of duties: they do not approve or
    execute it), in one query."""
    payees: dict[int, set[int]] = {pk: set() for pk in batch_ids}
    rows = Payment.objects.filter(batch_id__in=list(payees), consultant__user__isnull=False)
    for batch_id, user_id in rows.values_list("batch_id", "consultant__user_id"):
        payees[batch_id].add(user_id)
    return payees


def batch_summary(batch: PayoutBatch) -> BatchSummary:
    return batch_summaries([batch])[batch.pk]


def batch_payments(batch: PayoutBatch) -> QuerySet[Payment]:
    """The payments of one batch, by consultant, with their items."""
    return (
        batch.payments.select_related("consultant")
        .defer(*CONTACT_FIELDS)
        .prefetch_related(_items_prefetch())
        .order_by("consultant__display_name", "id")
    )


@dataclass
class Progress:
    status: str
    status_label: str
    done: bool
    counts: list[StatusCount]
    payments: dict[str, tuple[str, str]]  # public id -> (status, label)

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "status_label": self.status_label,
            "done": self.done,
            "counts": [vars(c) for c in self.counts],
            "payments": {
                pid: {"status": s, "label": label} for pid, (s, label) in self.payments.items()
            },
        }


def batch_progress(batch: PayoutBatch) -> Progress:
    """Where a batch stands: its status, counts by payment status, each payment (one query)."""
    statuses = list(batch.payments.order_by().values_list("public_id", "status", "rail"))
    counts: dict[tuple[str, str], int] = {}
    for _pid, s, rail in statuses:
        counts[(s, rail)] = counts.get((s, rail), 0) + 1
    return Progress(
        status=batch.status,
        status_label=str(batch.get_status_display()),
        done=batch.status != BS.PROCESSING,
        counts=_by_status(counts),
        payments={str(pid): (s, payment_status_label(s, rail)) for pid, s, rail in statuses},
    )


# --- one payment -----------------------------------------------------------------------


class SplitPayment(Protocol):
    """What ``split_items`` sets on a payment (its pages read them off the payment)."""

    work_items: list[PaymentItem]
    reimbursements: list[PaymentItem]
    work_total: Decimal
    reimbursement_total: Decimal


def split_items(payment: Payment) -> Payment:
    """Set ``work_items`` and ``reimbursements`` (and their totals) on a prefetched payment."""
    work: list[PaymentItem] = []
    paid_back: list[PaymentItem] = []
    for item in payment.items.all():
        is_reimbursement = item.contribution.kind == Contribution.Kind.REIMBURSEMENT
        (paid_back if is_reimbursement else work).append(item)
    row = cast(SplitPayment, payment)
    row.work_items = work
    row.reimbursements = paid_back
    row.work_total = sum((i.amount for i in work), ZERO)
    row.reimbursement_total = sum((i.amount for i in paid_back), ZERO)
    return payment


def payment_detail_rows(qs: QuerySet[Payment]) -> QuerySet[Payment]:
    return (
        qs.select_related("batch", "consultant", "recorded_by")
        .defer(*CONTACT_FIELDS)
        .prefetch_related(
            _items_prefetch(),
            Prefetch("attempts", queryset=PaymentAttempt.objects.order_by("number")),
        )
    )


PAYMENT_HIDDEN_IN_HISTORY = ("proof", "transfer_id", "stripe_payout_id", "reversal_id")


def payout_history(
    instance: Payment | PayoutBatch, *, viewer: User | None = None
) -> list[HistoryEntry]:
    """``history_entries`` of a batch or payment (Stripe ids left to the page itself)."""
    # Stripe ids (text fields named ``*_id``) are shown on the page itself, not as
    # changes: ``core.history`` reads a field named ``*_id`` as a foreign key
    # (``transfer_id`` as ``transfer``) and fails on them.
    hidden = PAYMENT_HIDDEN_IN_HISTORY if isinstance(instance, Payment) else ()
    # The payout actions' words are in payments.actions, like every app's.
    return history_entries(instance, viewer=viewer, hidden_fields=hidden)


# --- the consultant's own ----------------------------------------------------------------


def payments_of(consultant: Consultant) -> QuerySet[Payment]:
    """One consultant's payments, newest first, with items (three queries)."""
    return payment_rows(Payment.objects.filter(consultant=consultant)).order_by(
        "-created_at", "-id"
    )


# --- Stripe onboarding -------------------------------------------------------------------


class OnboardingState:
    NONE = "none"
    ONBOARDING = "onboarding"
    READY = "ready"
    LABELS = {
        NONE: gettext_lazy("Not started"),
        ONBOARDING: gettext_lazy("Onboarding"),
        READY: gettext_lazy("Ready"),
    }


def onboarding_state(account: StripeAccount | None) -> str:
    if account is None:
        return OnboardingState.NONE
    return OnboardingState.READY if account.ready else OnboardingState.ONBOARDING


def stripe_onboarding_rows() -> QuerySet[Consultant]:
    """Consultants paid by direct deposit, with their Stripe account and held payments.

    Each also carries the newest time Stripe refused to start their set-up
    (``failure_at``, ``failure_code``, ``failure_message``; None when it never did).
    """
    latest_failure = StripeSetupFailure.objects.filter(consultant=OuterRef("pk")).order_by(
        "-at", "-id"
    )
    return (
        Consultant.objects.filter(payout_method=PayoutMethod.STRIPE)
        .select_related("stripe_account")
        .annotate(
            waiting=Count(
                "payments",
                filter=Q(
                    payments__status=PS.HELD,
                    payments__hold_reason=Payment.Hold.ACCOUNT_NOT_READY,
                ),
            ),
            failure_at=Subquery(latest_failure.values("at")[:1]),
            failure_code=Subquery(latest_failure.values("code")[:1]),
            failure_type=Subquery(latest_failure.values("error_type")[:1]),
            failure_message=Subquery(latest_failure.values("message")[:1]),
        )
        # Names and states only: the encrypted contact fields are never read here.
        .only("public_id", "display_name", "status", "payout_method", "stripe_account")
        .order_by("display_name", "id")
    )


def stripe_account_of(consultant: Consultant) -> StripeAccount | None:
    return StripeAccount.objects.filter(consultant=consultant).first()


# --- what a consultant reads about their own payment ---------------------------------

HOLD_WORDS: dict[str, StrOrPromise] = {
    Payment.Hold.W9_MISSING: gettext_lazy(
        "we need a tax form (W-9) from you before this can be sent. "
        "The finance team will help you with it."
    ),
    Payment.Hold.ACCOUNT_NOT_READY: gettext_lazy(
        "your direct deposit setup is not finished yet. It goes out once it is."
    ),
    Payment.Hold.BENEFITS_CAP: gettext_lazy(
        "this payment would go over the limit you set for yourself, so it waits, as you may "
        "have chosen to be paid later. You can change your limit in your preferences."
    ),
    Payment.Hold.NOT_POSITIVE: gettext_lazy("the finance team is checking the amount."),
    Payment.Hold.AGREEMENT_NOT_ACCEPTED: gettext_lazy(
        "your agreement for this work is waiting for you. Read and accept it under "
        "Agreements, and the payment goes ahead."
    ),
}


@dataclass
class ConsultantStatus:
    key: str  # on_its_way, paid, on_hold, delayed, returned, not_sent
    words: str


def consultant_status(payment: Payment) -> ConsultantStatus:
    """A payment's status in neutral words for the person it pays."""
    s = payment.status
    if s in (PS.PENDING, PS.PROCESSING):
        return ConsultantStatus("on_its_way", _("On its way"))
    if s == PS.PAID:
        return ConsultantStatus("paid", _("Paid"))
    if s == PS.HELD:
        reason = HOLD_WORDS.get(payment.hold_reason, gettext_lazy("the finance team is on it."))
        return ConsultantStatus("on_hold", _("On hold: %(reason)s") % {"reason": reason})
    if s == PS.FAILED:
        return ConsultantStatus(
            "delayed", _("Delayed — the finance team is sending it again or another way")
        )
    if s == PS.RETURNED:
        return ConsultantStatus(
            "returned", _("Returned — this will be paid again in a later payment")
        )
    return ConsultantStatus("not_sent", _("Not sent — this work will be paid in a later payment"))


def payment_date(payment: Payment) -> date:
    """The day a consultant reads beside a payment: when it was paid, else when it started."""
    if payment.handed_over_on:
        return payment.handed_over_on
    if payment.paid_at:
        return timezone.localtime(payment.paid_at).date()
    return timezone.localtime(payment.created_at).date()


# --- receipts and annual statements ------------------------------------------------


def receipts_visible_to(user: User | AnonymousUser | None) -> QuerySet[Receipt]:
    """Finance sees every receipt; a consultant only their own; anyone else none."""
    if is_finance(user):
        return Receipt.objects.all()
    consultant = getattr(user, "consultant", None) if user and user.is_authenticated else None
    if consultant is None:
        return Receipt.objects.none()
    return Receipt.objects.filter(consultant=consultant)


def statements_visible_to(user: User | AnonymousUser | None) -> QuerySet[AnnualStatement]:
    """Finance sees every statement; a consultant only their own; anyone else none."""
    if is_finance(user):
        return AnnualStatement.objects.all()
    consultant = getattr(user, "consultant", None) if user and user.is_authenticated else None
    if consultant is None:
        return AnnualStatement.objects.none()
    return AnnualStatement.objects.filter(consultant=consultant)


def receipt_rows(qs: QuerySet) -> QuerySet:
    """Receipts with what a list shows: payment, consultant's display name, the receipt
    each one replaces and the one that replaced it (one query)."""
    return qs.select_related("payment", "consultant", "replaces", "replaced_by").defer(
        *CONTACT_FIELDS, "lines"
    )


def receipt_detail_rows(qs: QuerySet) -> QuerySet:
    """One receipt with its printed lines."""
    return qs.select_related("payment", "consultant", "replaces", "replaced_by").defer(
        *CONTACT_FIELDS
    )


def statement_rows(qs: QuerySet) -> QuerySet:
    return qs.select_related("consultant").defer(*CONTACT_FIELDS)


@dataclass
class HeldOut:
    """Approved work a batch would pay but for an open dispute."""

    consultant: str
    date: object
    amount: Decimal
    comment: str


def disputed_work_held_out(batch: PayoutBatch) -> list[HeldOut]:
    """Work within the batch's filters that an open dispute keeps out, with its words."""
    from engagements.models import Dispute
    from payments.preflight import disputed_items_filter

    qs = Contribution.objects.filter(disputed_items_filter(), date__lte=batch.cutoff_date)
    if batch.study_id:
        qs = qs.filter(engagement__phase__study_id=batch.study_id)
    if batch.phase_id:
        qs = qs.filter(engagement__phase_id=batch.phase_id)
    if batch.method:
        qs = qs.filter(engagement__consultant__payout_method=batch.method)
    rows = list(
        qs.select_related("engagement__consultant").order_by(
            "engagement__consultant__display_name", "date", "pk"
        )[:200]
    )
    words = dict(
        Dispute.objects.filter(
            contribution_id__in=[c.pk for c in rows], status=Dispute.Status.OPEN
        ).values_list("contribution_id", "comment")
    )
    return [
        # Approved work: its amount is frozen (never None).
        HeldOut(c.engagement.consultant.display_name, c.date, c.amount or ZERO, words.get(c.pk, ""))
        for c in rows
    ]
