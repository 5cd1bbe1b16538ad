"""Rules every engagements service shares: who may act, what a value may be, locks.

The sibling modules (contributions, reviews, disputes, engagements, imports)
call these; pages and the API call the actions in those modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from consultants.models import Consultant
from core import limits
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.money import format_money
from core.numbers import has_other_digits, size_at_least
from engagements.models import Activity, Contribution, Engagement
from engagements.rates import QUARTER

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

Status = Contribution.Status
Kind = Contribution.Kind
# Far beyond any amount or quantity a column holds, and well inside what Decimal
# arithmetic (quantize, %) handles at its default precision of 28 digits.
TOO_LARGE = Decimal("1e15")
MAX_AMOUNT = Decimal("10000000000")  # a MONEY column holds less than this
MAX_QUANTITY = Decimal("10000")  # a QUANTITY column holds less than this


def is_own(user: User | AnonymousUser, engagement: Engagement) -> bool:
    consultant = getattr(user, "consultant", None) if user.is_authenticated else None
    return consultant is not None and consultant.pk == engagement.consultant_id


def may_log(user: User | AnonymousUser, engagement: Engagement) -> bool:
    return user.has_perm("engagements.add_contribution") or is_own(user, engagement)


def check_loggable(*, by: User, engagement: Engagement) -> None:
    """Refuse new work on ``engagement`` (locked by the caller) that ``by`` may not log."""
    if not may_log(by, engagement):
        raise NotAllowed(_("You cannot log work on this engagement."))
    if engagement.status != Engagement.Status.ACTIVE:
        raise StateConflict(_("This engagement has ended; work can no longer be logged on it."))


def may_edit(user: User | AnonymousUser, contribution: Contribution) -> bool:
    if user.has_perm("engagements.change_contribution"):
        return True
    # A consultant edits only what they logged themselves, on their own engagement.
    return is_own(user, contribution.engagement) and contribution.logged_by_id == user.pk


def checked_decimal(
    value: object, field: str, *, limit: Decimal = TOO_LARGE, too_large: str = ""
) -> Decimal:
    """A finite Decimal of a sane size, or ValidationFailed on ``field``.

    Sizes are checked here, before any rounding: quantizing 1e30 to cents
    raises InvalidOperation, which must never reach the person as a 500.
    """
    if isinstance(value, float):
        raise ValidationFailed(_("Amounts are never floats."), field=field)
    if has_other_digits(value):
        raise ValidationFailed(_("Use the digits 0-9."), field=field, code="digits")
    try:
        result = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(_("Enter a number."), field=field) from None
    if not result.is_finite():
        raise ValidationFailed(_("Enter a number."), field=field)
    # Not abs(): it rounds to the context, and 1e999999999 then raises Overflow.
    if size_at_least(result, limit):
        raise ValidationFailed(too_large or _("That number is too large."), field=field)
    return result


def in_cents(value: Decimal) -> bool:
    """Whether ``value`` has at most two decimal places (``value`` below TOO_LARGE)."""
    return value == value.quantize(Decimal("0.01"))


def clean_fields(*, values: dict[str, Any], adjustment: bool = False) -> dict[str, Any]:
    kind = values.get("kind")
    if kind not in Kind.values:
        raise ValidationFailed(_("Choose hours, honorarium or reimbursement."), field="kind")
    if values.get("activity") not in Activity.values:
        raise ValidationFailed(_("Choose an activity."), field="activity")
    work_date = values.get("date")
    if not isinstance(work_date, date):
        raise ValidationFailed(_("Enter the date of the work."), field="date")
    if work_date > timezone.localdate():
        raise ValidationFailed(_("The date of the work cannot be in the future."), field="date")
    earliest = limits.earliest_work_date()
    if work_date < earliest:
        raise ValidationFailed(
            _("The date of the work cannot be before %(date)s.") % {"date": earliest.isoformat()},
            field="date",
        )

    cleaned = dict(values)
    if kind == Kind.REIMBURSEMENT:
        cleaned["quantity"] = Decimal("1")
        claimed = values.get("claimed_amount")
        if claimed in (None, ""):
            raise ValidationFailed(_("Enter the amount spent."), field="claimed_amount")
        claimed = checked_decimal(
            claimed, "claimed_amount", limit=MAX_AMOUNT, too_large=_("That amount is too large.")
        )
        if not in_cents(claimed):
            raise ValidationFailed(
                _("Enter the amount in dollars and cents."), field="claimed_amount"
            )
        if (claimed <= 0 and not adjustment) or claimed == 0:
            raise ValidationFailed(
                _("The amount spent must be more than zero."), field="claimed_amount"
            )
        if claimed.copy_abs() > limits.amount_per_entry():
            raise ValidationFailed(
                _("One reimbursement can be at most %(limit)s; split larger costs.")
                % {"limit": format_money(limits.amount_per_entry())},
                field="claimed_amount",
                code="over_limit",
            )
        cleaned["claimed_amount"] = claimed
    else:
        cleaned["claimed_amount"] = None
        quantity = checked_decimal(values.get("quantity"), "quantity")
        if (quantity <= 0 and not adjustment) or quantity == 0:
            raise ValidationFailed(_("The quantity must be more than zero."), field="quantity")
        if abs(quantity) >= MAX_QUANTITY:
            raise ValidationFailed(_("That quantity is too large."), field="quantity")
        # in_cents also stops a quantity so small that it rounds to zero when stored.
        if kind == Kind.HOURS and (quantity % QUARTER != 0 or not in_cents(quantity)):
            raise ValidationFailed(
                _("Hours are logged in quarter hours (0.25, 0.5, 0.75)."), field="quantity"
            )
        if kind == Kind.HONORARIUM and (quantity % 1 != 0 or not in_cents(quantity)):
            raise ValidationFailed(_("Honoraria are counted in whole numbers."), field="quantity")
        most = limits.hours_per_entry() if kind == Kind.HOURS else limits.honoraria_per_entry()
        if quantity.copy_abs() > most:
            message = (
                _("One entry can hold at most %(limit)s hours.")
                if kind == Kind.HOURS
                else _("One entry can count at most %(limit)s honoraria.")
            )
            raise ValidationFailed(
                message % {"limit": f"{most.normalize():f}"}, field="quantity", code="over_limit"
            )
        cleaned["quantity"] = quantity
    cleaned["description"] = (values.get("description") or "").strip()
    return cleaned


def check_hours_cap(
    *, engagement: Engagement, extra_hours: Decimal, excluding: int | None = None
) -> None:
    if engagement.hours_cap is None or extra_hours <= 0:
        return
    rows = Contribution.objects.filter(engagement=engagement, kind=Kind.HOURS).exclude(
        status=Status.REJECTED
    )
    # pk=None excludes nothing (no row has a null pk); the stubs do not allow None here.
    rows = rows.exclude(pk=excluding)  # type: ignore[misc]
    logged = rows.aggregate(total=Sum("quantity"))["total"] or Decimal("0")
    hours_cap_rule(engagement=engagement, logged=logged, extra_hours=extra_hours)


def hours_cap_rule(*, engagement: Engagement, logged: Decimal, extra_hours: Decimal) -> None:
    """Refuse ``extra_hours`` that would take the engagement past its cap.

    ``logged``: the hours already on the engagement (every entry but a returned
    one). ``check_hours_cap`` counts them for one entry; the import counts them
    for a whole chunk of rows at once.
    """
    if engagement.hours_cap is None or extra_hours <= 0:
        return
    if logged + extra_hours > engagement.hours_cap:
        raise ValidationFailed(
            _(
                "This would bring the hours on this engagement to %(total)s, above its cap of "
                "%(cap)s. Ask a coordinator to raise the cap first."
            )
            % {"total": logged + extra_hours, "cap": engagement.hours_cap},
            field="quantity",
            code="hours_cap",
        )


def check_hours_per_day(
    *,
    consultant_id: int,
    work_date: date,
    extra_hours: Decimal,
    excluding: int | None = None,
    statuses: Iterable[str] | None = None,
) -> None:
    """Refuse hours that would take one consultant's day past the daily limit.

    Counted across all their engagements: every entry but a returned one (or
    only ``statuses``, at approval). The consultant's row is locked so two
    entries posted at once on different engagements cannot both pass.
    """
    if extra_hours <= 0:
        return
    Consultant.objects.select_for_update().filter(pk=consultant_id).first()
    rows = Contribution.objects.filter(
        engagement__consultant_id=consultant_id, kind=Kind.HOURS, date=work_date
    )
    if excluding is not None:
        rows = rows.exclude(pk=excluding)
    if statuses is not None:
        rows = rows.filter(status__in=statuses)
    else:
        rows = rows.exclude(status=Status.REJECTED)
    logged = rows.aggregate(total=Sum("quantity"))["total"] or Decimal("0")
    hours_per_day_rule(work_date=work_date, logged=logged, extra_hours=extra_hours)


def hours_per_day_rule(*, work_date: date, logged: Decimal, extra_hours: Decimal) -> None:
    """Refuse ``extra_hours`` that would take a day (``logged`` hours so far) past the limit.

    ``check_hours_per_day`` counts ``logged`` for one entry, under the consultant's
    lock; the import counts it for a whole chunk of rows at once, under the same lock.
    """
    if extra_hours <= 0:
        return
    limit = limits.hours_per_day()
    if logged + extra_hours > limit:
        raise ValidationFailed(
            _(
                "This would bring the hours for %(date)s to %(total)s, across all engagements; "
                "a day holds at most %(limit)s hours."
            )
            % {
                "date": work_date.isoformat(),
                "total": f"{(logged + extra_hours).normalize():f}",
                "limit": f"{limit.normalize():f}",
            },
            field="quantity",
            code="hours_per_day",
        )


def lock_contribution(contribution: Contribution) -> Contribution:
    return (
        Contribution.objects.select_for_update()
        .select_related("engagement")
        .get(pk=contribution.pk)
    )


def check_seen_version(c: Contribution, seen_version: int | str | None) -> None:
    """Refuse a decision taken on an older version of the entry than the current one.

    ``seen_version`` is the ``version`` the reviewer's page showed (an int, or
    its text from a form); None or "" means the caller did not say (the API).
    """
    if seen_version is None or seen_version == "":
        return
    try:
        seen = int(seen_version)
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("The version of the entry you looked at could not be read. Open it again."),
            field="seen_version",
        ) from None
    if seen != c.version:
        raise StateConflict(
            _(
                "This entry changed since you opened it. Look at it again before "
                "approving or returning it."
            ),
            code="changed",
        )
