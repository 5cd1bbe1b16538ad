"""Pre-flight rules that hold a payment back, with the reason shown (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from consultants.models import CapPeriod, PayoutMethod
from engagements.models import Contribution
from payments.models import Payment, PaymentItem, StripeAccount

ZERO = Decimal("0.00")


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


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


def _paid(consultant, *, since: date, until: date, reportable_only: bool) -> Decimal:
    items = PaymentItem.objects.filter(
        payment__consultant=consultant,
        payment__status=Payment.Status.PAID,
        payment__paid_at__date__gte=since,
        payment__paid_at__date__lte=until,
    )
    if reportable_only:
        items = items.exclude(contribution__kind=Contribution.Kind.REIMBURSEMENT)
    return items.aggregate(total=Sum("amount"))["total"] or ZERO


@dataclass
class Hold:
    code: str
    detail: str


def reportable(items) -> Decimal:
    """Pay, not reimbursements (an accountable plan keeps those out of income)."""
    return sum(
        (i.amount for i in items if i.contribution.kind != Contribution.Kind.REIMBURSEMENT), ZERO
    )


def preflight(*, consultant, method: str, amount: Decimal, items, today: date) -> Hold | None:
    """The first reason this payment must wait, or None when it may go."""
    if amount <= 0:
        return Hold(
            Payment.Hold.NOT_POSITIVE,
            _("The items add up to %(amount)s.") % {"amount": money(amount)},
        )
    if method == PayoutMethod.STRIPE:
        account = StripeAccount.objects.filter(consultant=consultant).first()
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
    pay = reportable(items)
    year_start = today.replace(month=1, day=1)
    year_total = _paid(consultant, since=year_start, until=today, reportable_only=True) + pay
    threshold = w9_threshold(today.year)
    tax_form = getattr(consultant, "tax_form", None)
    if pay > 0 and year_total >= threshold and not (tax_form and tax_form.on_file):
        return Hold(
            Payment.Hold.W9_MISSING,
            _(
                "This payment brings %(year)s's reportable total to %(total)s; the threshold is "
                "%(threshold)s and no W-9 is on file."
            )
            % {"year": today.year, "total": money(year_total), "threshold": money(threshold)},
        )
    cap = consultant.benefits_cap_amount
    if cap is not None and pay > 0:
        if consultant.benefits_cap_period == CapPeriod.MONTHLY:
            since, period = today.replace(day=1), _("this month")
        else:
            since, period = year_start, _("this year")
        so_far = _paid(consultant, since=since, until=today, reportable_only=True)
        if so_far + pay > cap:
            return Hold(
                Payment.Hold.BENEFITS_CAP,
                _(
                    "Paid %(period)s so far: %(so_far)s. This payment (%(pay)s) would go over the "
                    "limit of %(cap)s the consultant set. They may prefer to be paid later."
                )
                % {"period": period, "so_far": money(so_far), "pay": money(pay), "cap": money(cap)},
            )
    return None


def open_items_filter() -> Q:
    """Approved contributions not already in a live payment."""
    return Q(status=Contribution.Status.APPROVED) & ~Q(payment_items__live=True)
