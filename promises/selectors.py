"""Which promises are about to slip and why; how long payments took (reads only).

The rules that block a payment are ``payments.preflight``'s, reused here: work in a
payment is blocked by that payment's hold or failure; work not in a payment yet is
checked with the same functions the batch builder uses (open disputes, agreement
gaps, then ``preflight`` for the rest: the account, the W-9 threshold, the limits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Min, QuerySet

from consultants.models import Consultant
from engagements.models import Contribution, Dispute, Study
from payments import preflight
from payments.models import Payment, PaymentItem
from promises.models import SlipNotice, SlipReason

if TYPE_CHECKING:
    from accounts.models import User


@dataclass
class Slip:
    """Approved work of one consultant held back for one reason."""

    consultant: Consultant
    reason: str
    promised_date: date
    contributions: list[Contribution] = field(default_factory=list)
    payment: Payment | None = None
    dispute: Dispute | None = None


def _approved_unpaid_due(horizon: date, study: Study | None = None) -> QuerySet[Contribution]:
    rows = Contribution.objects.filter(
        status=Contribution.Status.APPROVED, promised_pay_date__lte=horizon
    )
    if study is not None:
        rows = rows.filter(engagement__phase__study=study)
    return rows.select_related("engagement__consultant", "approved_by").order_by(
        "promised_pay_date", "pk"
    )


def slips_due(*, today: date, study: Study | None = None) -> list[Slip]:
    """Approved, unpaid work promised by ``today`` + PAY_SLIP_WARNING_DAYS (or late)
    that something blocks, grouped by consultant and reason (the earliest promise)."""
    horizon = today + timedelta(days=settings.PAY_SLIP_WARNING_DAYS)
    entries = list(_approved_unpaid_due(horizon, study))
    if not entries:
        return []
    by_id = {c.pk: c for c in entries}
    found: dict[tuple[int, str], Slip] = {}

    def add(
        c: Contribution, reason: str, payment: Payment | None = None, dispute: Dispute | None = None
    ) -> None:
        consultant = c.engagement.consultant
        promised = c.promised_pay_date
        assert promised is not None  # the query asked for it
        slip = found.get((consultant.pk, reason))
        if slip is None:
            slip = found[(consultant.pk, reason)] = Slip(
                consultant=consultant, reason=reason, promised_date=promised
            )
        slip.contributions.append(c)
        slip.promised_date = min(slip.promised_date, promised)
        slip.payment = slip.payment or payment
        slip.dispute = slip.dispute or dispute

    in_payment: set[int] = set()
    items = PaymentItem.objects.filter(contribution_id__in=list(by_id), live=True).select_related(
        "payment"
    )
    for item in items:
        in_payment.add(item.contribution_id)
        p = item.payment
        if p.status == Payment.Status.HELD and p.hold_reason in SlipReason.values:
            add(by_id[item.contribution_id], p.hold_reason, payment=p)
        elif p.status == Payment.Status.FAILED:
            add(by_id[item.contribution_id], SlipReason.PAYMENT_FAILED, payment=p)
        # Pending or on its way: nothing blocks it.

    free = [c for c in entries if c.pk not in in_payment]
    disputes = {
        d.contribution_id: d
        for d in Dispute.objects.filter(
            contribution_id__in=list(preflight.open_disputes(c.pk for c in free))
        ).filter(status=Dispute.Status.OPEN)
    }
    gaps = preflight.agreement_gaps((c.pk, c.engagement_id, c.date) for c in free)
    rest: dict[int, list[Contribution]] = {}
    for c in free:
        if c.pk in disputes:
            add(c, SlipReason.DISPUTED, dispute=disputes[c.pk])
        elif c.pk in gaps:
            add(c, SlipReason.AGREEMENT_NOT_ACCEPTED)
        else:
            rest.setdefault(c.engagement.consultant_id, []).append(c)
    # The remaining rules as the batch builder would apply them to one payment of it all.
    for work in rest.values():
        consultant = work[0].engagement.consultant
        fake_items = [
            SimpleNamespace(contribution=c, contribution_id=c.pk, amount=c.amount) for c in work
        ]
        hold = preflight.preflight(
            consultant=consultant,
            method=consultant.payout_method,
            amount=sum((c.amount or Decimal("0.00") for c in work), Decimal("0.00")),
            items=fake_items,
            today=today,
        )
        if hold is not None and hold.code in SlipReason.values:
            for c in work:
                add(c, hold.code)
        elif hold is None:
            # Nothing blocks it: it slips only if its day comes with no batch paying it
            # (finance is told then, not days before, as building a batch is routine).
            for c in work:
                if c.promised_pay_date is not None and c.promised_pay_date <= today:
                    add(c, SlipReason.NOT_BATCHED)
    return sorted(found.values(), key=lambda s: (s.promised_date, s.consultant.pk, s.reason))


def open_slips(*, study: Study) -> list[SlipNotice]:
    """Notices sent whose work is still approved and unpaid (the dashboard's list)."""
    return list(
        SlipNotice.objects.filter(
            contributions__engagement__phase__study=study,
            contributions__status=Contribution.Status.APPROVED,
        )
        .select_related("consultant")
        # The list shows the display name: the encrypted contact fields stay unread.
        .defer("consultant__email", "consultant__phone", "consultant__safe_contact_notes")
        .distinct()
        .order_by("promised_date", "pk")[:50]
    )


def staff_recipients(slip: Slip) -> list[str]:
    """The coordinator who approved the work (else the active coordinators), and finance."""
    from accounts.models import User
    from accounts.roles import COORDINATOR, FINANCE

    emails: list[str] = []
    if slip.reason == SlipReason.NOT_BATCHED:  # only finance builds batches
        return sorted(
            set(
                User.objects.filter(groups__name=FINANCE, is_active=True).values_list(
                    "email", flat=True
                )
            )
            - {""}
        )
    approvers: list[User] = [
        c.approved_by
        for c in slip.contributions
        if c.approved_by is not None
        and c.approved_by.is_active
        and c.approved_by.groups.filter(name=COORDINATOR).exists()
    ]
    if approvers:
        emails += [u.email for u in approvers]
    else:
        emails += User.objects.filter(groups__name=COORDINATOR, is_active=True).values_list(
            "email", flat=True
        )
    emails += User.objects.filter(groups__name=FINANCE, is_active=True).values_list(
        "email", flat=True
    )
    seen: list[str] = []
    for email in emails:
        if email and email not in seen:
            seen.append(email)
    return sorted(seen)


# --- time to pay --------------------------------------------------------------

BUCKETS = ((0, 2), (3, 7), (8, 14), (15, 30), (31, None))


@dataclass(frozen=True)
class PaymentTime:
    payment_id: int
    rail: str
    consultant_id: int
    days: int


def payment_times(
    *, study: Study, since: datetime | None = None, until: datetime | None = None
) -> list[PaymentTime]:
    """Per paid payment of this study: the days from the earliest approval among its
    items to the payment's ``paid_at``, by rail (paid on or after ``since``, before
    ``until``). One query. The study dashboard and the public transparency report
    both read time to pay from here, so they can never disagree."""
    rows = PaymentItem.objects.filter(
        live=True,
        payment__status=Payment.Status.PAID,
        payment__paid_at__isnull=False,
        contribution__engagement__phase__study=study,
    )
    if since is not None:
        rows = rows.filter(payment__paid_at__gte=since)
    if until is not None:
        rows = rows.filter(payment__paid_at__lt=until)
    grouped = (
        rows.values("payment_id", "payment__rail", "payment__consultant_id", "payment__paid_at")
        .annotate(first_approved=Min("contribution__approved_at"))
        .order_by("payment_id")
    )
    out = []
    for r in grouped:
        if r["first_approved"] is None:
            continue
        days = max(0, (r["payment__paid_at"] - r["first_approved"]).days)
        out.append(
            PaymentTime(
                payment_id=r["payment_id"],
                rail=r["payment__rail"],
                consultant_id=r["payment__consultant_id"],
                days=days,
            )
        )
    return out


@dataclass
class Distribution:
    rail: str
    label: str
    count: int
    median: int  # nearest rank, as the public report states it
    p90: int
    buckets: list[tuple[str, int, int]]  # (label, count, percent of the rail's payments)


def _bucket_label(low: int, high: int | None) -> str:
    from django.utils.translation import gettext as _

    if low == 0:
        return _("2 days or less")
    if high is None:
        return _("more than %(days)d days") % {"days": low - 1}
    return _("%(low)d to %(high)d days") % {"low": low, "high": high}


def percentile(values: list[int], share: float) -> int:
    """Nearest-rank percentile (a value that occurred, never an interpolation)."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def distribution(times: Iterable[PaymentTime]) -> list[Distribution]:
    """Per rail: how many payments fell in each bucket, the median and the 90th percentile."""
    from payments.models import Rail

    labels = dict(Rail.choices)
    by_rail: dict[str, list[int]] = {}
    for t in times:
        by_rail.setdefault(t.rail, []).append(t.days)
    out = []
    for rail in sorted(by_rail):
        days = by_rail[rail]
        buckets = []
        for low, high in BUCKETS:
            n = sum(1 for d in days if d >= low and (high is None or d <= high))
            buckets.append((_bucket_label(low, high), n, round(n * 100 / len(days))))
        out.append(
            Distribution(
                rail=rail,
                label=str(labels.get(rail, rail)),
                count=len(days),
                median=percentile(days, 0.5),
                p90=percentile(days, 0.9),
                buckets=buckets,
            )
        )
    return out
