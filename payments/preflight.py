"""Pre-flight rules that hold a payment back, with the reason shown (read-only).

A payment is checked when its batch is built, again when the batch is executed
(another payment may have been paid or started meanwhile), and when finance
releases a hold. The W-9 threshold and the consultant's own limit count what was
paid in the period *and* what is still on its way to them in other payments
(pending, processing, or failed and waiting to be retried): money that is about
to arrive counts as much as money that has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agreements.models import AgreementVersion
from consultants.models import CapPeriod, Consultant, PayoutMethod, TaxForm
from core import limits
from core.money import format_money
from core.sql import in_ids
from engagements.models import Contribution, Dispute, Engagement
from payments.models import Payment, PaymentItem, StripeAccount

ZERO = Decimal("0.00")
# What the rules read of a consultant (never the encrypted contact details).
CONSULTANT_FIELDS = ("id", "benefits_cap_amount", "benefits_cap_period")


def tax_threshold(year: int) -> Decimal:
    """The year's 1099-NEC reporting threshold, from the table in settings."""
    table = settings.TAX_FORM_THRESHOLDS
    known = [y for y in table if y <= year]
    return table[max(known)] if known else table[min(table)]


def w9_threshold(year: int) -> Decimal:
    """From which yearly total a W-9 must be on file: the law's, or the organisation's lower one."""
    legal = tax_threshold(year)
    org = settings.TAX_FORM_ORG_THRESHOLD
    return min(org, legal) if org is not None else legal


@dataclass
class Hold:
    code: str
    detail: str


@dataclass
class Totals:
    """A consultant's reportable money (reimbursements left out) around one payment."""

    paid_this_year: Decimal = ZERO
    paid_this_month: Decimal = ZERO
    on_its_way: Decimal = ZERO  # other live, unpaid payments


def _totals(consultant_ids, *, today: date, exclude_payment_ids) -> dict[int, Totals]:
    """One query: each consultant's paid-this-year, paid-this-month and on-its-way totals."""
    paid = Q(payment__status=Payment.Status.PAID, payment__paid_at__date__lte=today)
    on_way = Q(payment__status__in=Payment.ON_ITS_WAY)
    if exclude_payment_ids:
        on_way &= ~Q(payment_id__in=list(exclude_payment_ids))
    year_start, month_start = today.replace(month=1, day=1), today.replace(day=1)
    rows = (
        PaymentItem.objects.filter(payment__consultant_id__in=consultant_ids, live=True)
        .exclude(contribution__kind=Contribution.Kind.REIMBURSEMENT)
        .values("payment__consultant_id")
        .order_by()
        .annotate(
            year=Sum("amount", filter=paid & Q(payment__paid_at__date__gte=year_start)),
            month=Sum("amount", filter=paid & Q(payment__paid_at__date__gte=month_start)),
            on_way=Sum("amount", filter=on_way),
        )
    )
    return {
        row["payment__consultant_id"]: Totals(
            paid_this_year=row["year"] or ZERO,
            paid_this_month=row["month"] or ZERO,
            on_its_way=row["on_way"] or ZERO,
        )
        for row in rows
    }


def reportable(items) -> Decimal:
    """Pay, not reimbursements (an accountable plan keeps those out of income)."""
    return sum(
        (i.amount for i in items if i.contribution.kind != Contribution.Kind.REIMBURSEMENT), ZERO
    )


def open_disputes(contribution_ids) -> dict[int, str]:
    """The open dispute's words for each of these contributions that has one."""
    return dict(
        Dispute.objects.filter(
            in_ids("contribution_id", contribution_ids), status=Dispute.Status.OPEN
        ).values_list("contribution_id", "comment")
    )


def dispute_detail(contributions, words: dict[int, str]) -> str:
    """The hold's words for a payment with disputed entries: each entry and what is wrong."""
    parts = [
        _("the entry of %(date)s (%(amount)s): “%(comment)s”")
        % {"date": c.date.isoformat(), "amount": format_money(c.amount), "comment": words[c.pk]}
        for c in contributions
        if c.pk in words
    ]
    return _(
        "The consultant disputes %(entries)s. It waits until a coordinator resolves the "
        "dispute; then release the hold, or cancel this payment to pay the rest now (the "
        "next batch leaves the disputed entry out)."
    ) % {"entries": "; ".join(parts)}


def agreement_gaps(rows) -> dict[object, str]:
    """Which work is not covered by an accepted agreement, in two queries.

    ``rows``: (key, engagement id, date of the work) for each item. An item waits when
    its engagement has no accepted agreement version, or when it was done on or after
    the day a newer version (not accepted yet) was issued: work done under an accepted
    version still pays. Answers, for each key with such work, finance's words.
    """
    rows = list(rows)
    if not rows:
        return {}
    engagement_ids = {e for _key, e, _day in rows}
    accepted: dict[int, int] = {}
    pending_since: dict[int, tuple[date, int]] = {}
    versions = (
        AgreementVersion.objects.filter(engagement_id__in=engagement_ids)
        .order_by("engagement_id", "number")
        .values_list("engagement_id", "number", "issued_at", "acceptance__id")
    )
    issued: dict[int, list[tuple[int, date, bool]]] = {}
    for engagement_id, number, issued_at, acceptance_id in versions:
        day = timezone.localtime(issued_at).date()
        issued.setdefault(engagement_id, []).append((number, day, acceptance_id is not None))
    for engagement_id, rows_ in issued.items():
        last_accepted = max((n for n, _d, ok in rows_ if ok), default=None)
        if last_accepted is not None:
            accepted[engagement_id] = last_accepted
        newer = [(d, n) for n, d, ok in rows_ if not ok and n > (last_accepted or 0)]
        if newer:
            pending_since[engagement_id] = min(newer)
    words: dict[object, list[str]] = {}
    names = None
    for key, engagement_id, day in rows:
        since = pending_since.get(engagement_id)
        if engagement_id in accepted and not (since and day >= since[0]):
            continue
        if names is None:
            names = {
                e["pk"]: _("“%(role)s” in %(study)s · %(phase)s")
                % {"role": e["role"], "study": e["phase__study__name"], "phase": e["phase__name"]}
                for e in Engagement.objects.filter(pk__in=engagement_ids).values(
                    "pk", "role", "phase__name", "phase__study__name"
                )
            }
        if engagement_id not in accepted:
            line = (
                _(
                    "the engagement %(engagement)s has no accepted agreement (version %(number)s "
                    "waits for the consultant)"
                )
                % {"engagement": names[engagement_id], "number": since[1]}
                if since
                else _("the engagement %(engagement)s has no agreement yet")
                % {"engagement": names[engagement_id]}
            )
        else:
            assert since is not None
            line = _(
                "the engagement %(engagement)s: agreement version %(number)s, issued "
                "%(issued)s, is not accepted yet and covers work from that day"
            ) % {
                "engagement": names[engagement_id],
                "number": since[1],
                "issued": since[0].isoformat(),
            }
        found = words.setdefault(key, [])
        if line not in found:
            found.append(line)
    return {
        key: _(
            "Not paid until the consultant accepts the agreement: %(lines)s. The consultant "
            "can accept it in the portal, or a coordinator can record a paper acceptance; "
            "then release the hold."
        )
        % {"lines": "; ".join(lines)}
        for key, lines in words.items()
    }


def _decide(
    *,
    consultant,
    method: str,
    amount: Decimal,
    pay: Decimal,
    account: StripeAccount | None,
    tax_form: TaxForm | None,
    totals: Totals,
    today: date,
    disputed: str = "",
    unagreed: str = "",
) -> Hold | None:
    if disputed:
        return Hold(Payment.Hold.DISPUTED, disputed)
    if unagreed:
        return Hold(Payment.Hold.AGREEMENT_NOT_ACCEPTED, unagreed)
    if amount <= 0:
        return Hold(
            Payment.Hold.NOT_POSITIVE,
            _("The items add up to %(amount)s.") % {"amount": format_money(amount)},
        )
    most = limits.amount_per_payment()
    if amount > most:
        return Hold(
            Payment.Hold.OVER_LIMIT,
            _(
                "The items add up to %(amount)s; one payment is at most %(limit)s. "
                "Check the work, then pay it in parts."
            )
            % {"amount": format_money(amount), "limit": format_money(most)},
        )
    if method == PayoutMethod.STRIPE:
        if account is None:
            return Hold(
                Payment.Hold.ACCOUNT_NOT_READY,
                _("The consultant has not started Stripe onboarding."),
            )
        if not account.ready:
            return Hold(
                Payment.Hold.ACCOUNT_NOT_READY,
                _("Stripe cannot pay this account yet (onboarding not finished)."),
            )
    year_total = totals.paid_this_year + totals.on_its_way + pay
    threshold = w9_threshold(today.year)
    if pay > 0 and year_total >= threshold and not (tax_form and tax_form.on_file):
        return Hold(
            Payment.Hold.W9_MISSING,
            _(
                "This payment brings %(year)s's reportable total (paid and on its way) to "
                "%(total)s; the threshold is %(threshold)s and no tax form (W-9, or W-8BEN for "
                "a non-US person) is on file."
            )
            % {
                "year": today.year,
                "total": format_money(year_total),
                "threshold": format_money(threshold),
            },
        )
    cap = consultant.benefits_cap_amount
    if cap is not None and pay > 0:
        if consultant.benefits_cap_period == CapPeriod.MONTHLY:
            paid, period = totals.paid_this_month, _("this month")
        else:
            paid, period = totals.paid_this_year, _("this year")
        so_far = paid + totals.on_its_way
        if so_far + pay > cap:
            return Hold(
                Payment.Hold.BENEFITS_CAP,
                _(
                    "Paid or on its way %(period)s so far: %(so_far)s. This payment (%(pay)s) "
                    "would go over the limit of %(cap)s the consultant set. They may prefer to "
                    "be paid later."
                )
                % {
                    "period": period,
                    "so_far": format_money(so_far),
                    "pay": format_money(pay),
                    "cap": format_money(cap),
                },
            )
    return None


def preflight(
    *,
    consultant,
    method: str,
    amount: Decimal,
    items,
    today: date,
    payment: Payment | None = None,
) -> Hold | None:
    """The first reason this payment must wait, or None when it may go.

    ``payment``: the payment being checked, when it exists already (it is not
    counted as on its way besides itself).
    """
    exclude = [payment.pk] if payment is not None and payment.pk else []
    totals = _totals([consultant.pk], today=today, exclude_payment_ids=exclude)
    items = list(items)
    words = open_disputes(i.contribution_id for i in items)
    gaps = agreement_gaps((0, i.contribution.engagement_id, i.contribution.date) for i in items)
    return _decide(
        disputed=dispute_detail([i.contribution for i in items], words) if words else "",
        unagreed=gaps.get(0, ""),
        consultant=consultant,
        method=method,
        amount=amount,
        pay=reportable(items),
        account=StripeAccount.objects.filter(consultant=consultant).first()
        if method == PayoutMethod.STRIPE
        else None,
        tax_form=TaxForm.objects.filter(consultant=consultant).first(),
        totals=totals.get(consultant.pk, Totals()),
        today=today,
    )


def preflight_payments(payments, *, today: date) -> dict[int, Hold | None]:
    """``preflight`` for many saved payments at once, in a fixed number of queries."""
    payments = list(payments)
    if not payments:
        return {}
    ids = [p.pk for p in payments]
    consultant_ids = {p.consultant_id for p in payments}
    consultants = Consultant.objects.only(*CONSULTANT_FIELDS).filter(pk__in=consultant_ids)
    consultants = {c.pk: c for c in consultants}
    accounts = {
        a.consultant_id: a for a in StripeAccount.objects.filter(consultant_id__in=consultant_ids)
    }
    forms = {t.consultant_id: t for t in TaxForm.objects.filter(consultant_id__in=consultant_ids)}
    pay = dict(
        PaymentItem.objects.filter(payment_id__in=ids, live=True)
        .exclude(contribution__kind=Contribution.Kind.REIMBURSEMENT)
        .values("payment_id")
        .order_by()
        .annotate(total=Sum("amount"))
        .values_list("payment_id", "total")
    )
    totals = _totals(consultant_ids, today=today, exclude_payment_ids=ids)
    disputed: dict[int, list[Contribution]] = {}
    live = PaymentItem.objects.filter(payment_id__in=ids, live=True)
    words = open_disputes(live.values_list("contribution_id", flat=True))
    if words:
        for item in live.filter(contribution_id__in=list(words)).select_related("contribution"):
            disputed.setdefault(item.payment_id, []).append(item.contribution)
    gaps = agreement_gaps(
        live.values_list("payment_id", "contribution__engagement_id", "contribution__date")
    )
    return {
        p.pk: _decide(
            disputed=dispute_detail(disputed[p.pk], words) if p.pk in disputed else "",
            unagreed=gaps.get(p.pk, ""),
            consultant=consultants[p.consultant_id],
            method=p.method,
            amount=p.amount,
            pay=pay.get(p.pk) or ZERO,
            account=accounts.get(p.consultant_id),
            tax_form=forms.get(p.consultant_id),
            totals=totals.get(p.consultant_id, Totals()),
            today=today,
        )
        for p in payments
    }


def open_items_filter() -> Q:
    """Approved contributions not already in a live payment, and not disputed: an open
    dispute holds its entry out of every batch until it is resolved."""
    return (
        Q(status=Contribution.Status.APPROVED)
        & ~Q(payment_items__live=True)
        & ~Q(disputes__status=Dispute.Status.OPEN)
    )


def disputed_items_filter() -> Q:
    """Approved, unpaid work that an open dispute holds out of batches."""
    return (
        Q(status=Contribution.Status.APPROVED)
        & ~Q(payment_items__live=True)
        & Q(disputes__status=Dispute.Status.OPEN)
    )


def paid_before(contribution_ids) -> dict[int, str]:
    """For work that was paid before and came back: the first payment's history.

    Each contribution whose earlier payment was returned (a check that bounced, a
    Stripe payout that failed) maps to one line finance reads before paying it again:
    which payment, when it was paid, when and why it came back.
    """
    found: dict[int, str] = {}
    items = (
        PaymentItem.objects.filter(
            in_ids("contribution_id", contribution_ids),
            payment__status=Payment.Status.RETURNED,
        )
        .select_related("payment", "contribution")
        .order_by("contribution_id", "payment__paid_at", "pk")
    )
    for item in items:
        p = item.payment
        ref = p.reference or p.transfer_id or str(p.public_id)[:8]
        line = _(
            "The entry of %(date)s (%(amount)s) was paid before: payment %(ref)s "
            "(%(method)s), paid %(paid)s, came back %(back)s: “%(reason)s”. Make sure it "
            "is not paid twice."
        ) % {
            "date": item.contribution.date.isoformat(),
            "amount": format_money(item.amount),
            "ref": ref,
            "method": p.get_method_display(),
            "paid": f"{p.paid_at:%Y-%m-%d}" if p.paid_at else "-",
            "back": f"{item.released_at or p.updated_at:%Y-%m-%d}",
            "reason": p.closed_reason,
        }
        found[item.contribution_id] = (
            f"{found[item.contribution_id]}\n{line}" if item.contribution_id in found else line
        )
    return found
