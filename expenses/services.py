"""Reimbursement claims from the consultant, and advances: granted, paid, settled.

A claim and an advance are paid through reimbursement contributions made by
``engagements.services.contributions`` (so approval by someone else, batches and
the reportable totals treat them as any reimbursement: never taxable). Every file
is re-made without its metadata (``expenses.scrub``) before it is stored; all of an
upload's files are checked before anything is written, so a refused file leaves
nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consultants.models import PayoutMethod
from core import limits
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.money import ZERO, format_money, round_money, sum_money
from engagements.models import Activity, Contribution, Engagement
from engagements.services.checks import checked_decimal, in_cents, is_own
from engagements.services.contributions import contribution_create, contribution_submit
from expenses import actions
from expenses.models import (
    MAX_DISTANCE,
    MAX_FILES,
    Advance,
    AdvanceReceipt,
    Category,
    Claim,
    ClaimFile,
    Settlement,
)
from expenses.scrub import CleanFile, clean_upload

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import PayoutBatch

# The most receipts one advance may collect.
MAX_RECEIPTS = 30
# How far ahead an advance may be granted.
MAX_DAYS_AHEAD = 366
MANUAL_METHODS = (
    PayoutMethod.CHECK,
    PayoutMethod.CASH,
    PayoutMethod.PREPAID_CARD,
    PayoutMethod.GIFT_CARD,
)
TRAVEL_CATEGORIES = (Category.MILEAGE, Category.TRANSPORT)


def mileage_rate() -> Decimal:
    return Decimal(settings.MILEAGE_RATE)


def clean_files(files: Sequence[UploadedFile], *, field: str = "files") -> list[CleanFile]:
    """Every file re-made without metadata, or ValidationFailed before anything is stored."""
    if len(files) > MAX_FILES:
        raise ValidationFailed(
            _("Send at most %(count)s files with one claim.") % {"count": MAX_FILES},
            field=field,
            code="too_many_files",
        )
    return [clean_upload(f, field=field) for f in files]


def _amount(value: object, field: str) -> Decimal:
    amount = checked_decimal(value, field, too_large=_("That amount is too large."))
    if not in_cents(amount):
        raise ValidationFailed(_("Enter the amount in dollars and cents."), field=field)
    if amount <= 0:
        raise ValidationFailed(_("The amount must be more than zero."), field=field)
    if amount > limits.amount_per_entry():
        raise ValidationFailed(
            _("The amount can be at most %(limit)s.")
            % {"limit": format_money(limits.amount_per_entry())},
            field=field,
            code="over_limit",
        )
    return amount


def _distance(value: object) -> Decimal:
    if value in (None, ""):
        raise ValidationFailed(_("Enter the distance travelled."), field="distance")
    distance = checked_decimal(value, "distance")
    if distance != distance.quantize(Decimal("0.1")):
        raise ValidationFailed(_("Enter the distance to one decimal place."), field="distance")
    if distance <= 0:
        raise ValidationFailed(_("The distance must be more than zero."), field="distance")
    if distance > MAX_DISTANCE:
        raise ValidationFailed(
            _("One claim can be for at most %(most)s miles; split longer trips.")
            % {"most": MAX_DISTANCE},
            field="distance",
        )
    return distance


@transaction.atomic
def claim_create(
    *,
    engagement: Engagement,
    by: User,
    category: str,
    date: date,
    amount: object = None,
    distance: object = None,
    description: str = "",
    files: Sequence[UploadedFile] = (),
) -> Claim:
    """A reimbursement with its receipts, sent for approval.

    Mileage is paid at ``MILEAGE_RATE`` per mile for the distance; anything else
    is the amount spent.
    """
    if category not in Category.values:
        raise ValidationFailed(_("Choose what the cost was for."), field="category")
    rate = None
    if category == Category.MILEAGE:
        distance = _distance(distance)
        rate = mileage_rate()
        claimed = round_money(distance * rate)
    else:
        distance = None
        if amount in (None, ""):
            raise ValidationFailed(_("Enter the amount spent."), field="amount")
        claimed = _amount(amount, "amount")
    description = (description or "").strip()
    if len(description) > 2000:
        raise ValidationFailed(
            _("Keep the description under 2,000 characters."), field="description"
        )
    cleaned = clean_files(files)
    try:
        contribution = contribution_create(
            engagement=engagement,
            by=by,
            kind=Contribution.Kind.REIMBURSEMENT,
            activity=Activity.TRAVEL if category in TRAVEL_CATEGORIES else Activity.WORK,
            date=date,
            claimed_amount=claimed,
            description=description,
            submit=True,
        )
    except ValidationFailed as exc:
        if exc.field == "claimed_amount":
            raise ValidationFailed(
                exc.message, field="distance" if distance else "amount", code=exc.code
            ) from None
        raise
    contribution = contribution_submit(contribution=contribution, by=by)
    claim = Claim(
        contribution=contribution, category=category, distance=distance, mileage_rate=rate
    )
    stamp(claim, by=by, action=actions.CLAIM_CREATED)
    claim.save()
    for f in cleaned:
        ClaimFile.objects.create(claim=claim, file=f.content, kind=f.kind, size=f.size, added_by=by)
    return claim


# ---------------------------------------------------------------- advances


def _require_coordinator(by: User) -> None:
    if not by.has_perm("engagements.add_contribution"):
        raise NotAllowed(_("Only a coordinator can do this."))


def _lock(advance: Advance) -> Advance:
    return (
        Advance.objects.select_for_update()
        .select_related("contribution", "engagement")
        .get(pk=advance.pk)
    )


@transaction.atomic
def advance_grant(
    *, engagement: Engagement, by: User, purpose: str, planned_for: object, amount: object
) -> Advance:
    """Grant money before planned costs: a reimbursement entry, submitted, that
    another coordinator approves before it is paid."""
    _require_coordinator(by)
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationFailed(_("Say what the advance is for."), field="purpose")
    if len(purpose) > 200:
        raise ValidationFailed(_("Keep what it is for under 200 characters."), field="purpose")
    if not isinstance(planned_for, date):
        raise ValidationFailed(_("Enter the date of the planned costs."), field="planned_for")
    today = timezone.localdate()
    if planned_for > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed(
            _("An advance is for costs within the next year."), field="planned_for"
        )
    if planned_for < limits.earliest_work_date():
        raise ValidationFailed(_("That date is too far in the past."), field="planned_for")
    amount = _amount(amount, "amount")
    contribution = contribution_create(
        engagement=engagement,
        by=by,
        kind=Contribution.Kind.REIMBURSEMENT,
        activity=Activity.TRAVEL,
        date=today,
        claimed_amount=amount,
        description=_("Advance: %(purpose)s") % {"purpose": purpose},
        submit=True,
    )
    advance = Advance(
        engagement=contribution.engagement,
        purpose=purpose,
        planned_for=planned_for,
        amount=amount,
        contribution=contribution,
        granted_by=by,
    )
    stamp(advance, by=by, action=actions.ADVANCE_GRANTED)
    advance.save()
    return advance


def _may_add_receipt(by: User, advance: Advance) -> bool:
    return by.has_perm("engagements.add_contribution") or is_own(by, advance.engagement)


@transaction.atomic
def advance_receipt_add(
    *,
    advance: Advance,
    by: User,
    amount: object,
    upload: UploadedFile | None,
    description: str = "",
) -> AdvanceReceipt:
    """A receipt for money spent out of the advance, with its file (no metadata kept)."""
    a = _lock(advance)
    if not _may_add_receipt(by, a):
        raise NotAllowed(_("You cannot add receipts to this advance."))
    if Settlement.objects.filter(advance=a).exists():
        raise StateConflict(_("This advance is settled; receipts can no longer be added."))
    if a.receipts.count() >= MAX_RECEIPTS:
        raise StateConflict(
            _("This advance already has %(count)s receipts, the most it can hold.")
            % {"count": MAX_RECEIPTS}
        )
    amount = _amount(amount, "amount")
    description = (description or "").strip()
    if len(description) > 200:
        raise ValidationFailed(_("Keep the description under 200 characters."), field="description")
    if upload is None:
        raise ValidationFailed(_("Add a photo or PDF of the receipt."), field="file")
    cleaned = clean_upload(upload, field="file")
    receipt = AdvanceReceipt.objects.create(
        advance=a,
        amount=amount,
        description=description,
        file=cleaned.content,
        kind=cleaned.kind,
        size=cleaned.size,
        added_by=by,
    )
    stamp(a, by=by, action=actions.ADVANCE_RECEIPT_ADDED, reason=format_money(amount))
    a.save()
    return receipt


@transaction.atomic
def advance_settle(*, advance: Advance, by: User, note: str = "") -> Settlement:
    """Weigh the advance against its receipts, once, after it was paid.

    More spent than advanced: the difference becomes a reimbursement entry, sent
    for approval. Less spent: the rest is noted as kept; nothing is asked back.
    """
    _require_coordinator(by)
    a = _lock(advance)
    if Settlement.objects.filter(advance=a).exists():
        raise StateConflict(_("This advance is already settled."), code="already_settled")
    if a.contribution.status != Contribution.Status.PAID:
        raise StateConflict(
            _("This advance is not paid yet; it is settled once it has been paid."),
            code="not_paid",
        )
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed(_("Keep the note under 2,000 characters."), field="note")
    spent = sum_money(r.amount for r in a.receipts.all())
    difference = spent - a.amount
    extra = None
    if difference > ZERO:
        outcome = Settlement.Outcome.DIFFERENCE_PAID
        extra = contribution_create(
            engagement=a.engagement,
            by=by,
            kind=Contribution.Kind.REIMBURSEMENT,
            activity=Activity.TRAVEL,
            date=timezone.localdate(),
            claimed_amount=difference,
            description=_("Spent beyond the advance for %(purpose)s") % {"purpose": a.purpose},
            submit=True,
        )
    elif difference < ZERO:
        outcome = Settlement.Outcome.KEPT
    else:
        outcome = Settlement.Outcome.EVEN
    try:
        with transaction.atomic():
            settlement = Settlement.objects.create(
                advance=a,
                advance_amount=a.amount,
                spent=spent,
                difference=difference,
                outcome=outcome,
                difference_contribution=extra,
                note=note,
                settled_by=by,
            )
    except IntegrityError:
        raise StateConflict(_("This advance is already settled."), code="already_settled") from None
    stamp(a, by=by, action=actions.ADVANCE_SETTLED, reason=str(Settlement.Outcome(outcome).label))
    a.save()
    return settlement


@transaction.atomic
def advance_pay_now(*, advance: Advance, by: User, method: str) -> PayoutBatch:
    """Pay one approved advance at once by a manual method: a batch of just it,
    submitted, approved and recorded by finance like any other batch."""
    from payments.services.access import require_finance
    from payments.services.batches import batch_build

    require_finance(by)
    if method not in MANUAL_METHODS:
        raise ValidationFailed(_("Choose check, cash, prepaid card or gift card."), field="method")
    a = _lock(advance)
    if a.contribution.status != Contribution.Status.APPROVED:
        raise StateConflict(
            _("Only an approved advance that is not paid yet can be paid at once."),
            code="not_approved",
        )
    batch = batch_build(
        by=by,
        cutoff_date=timezone.localdate(),
        only=[a.contribution],
        pay_by=method,
        note=_("Advance paid at once: %(purpose)s") % {"purpose": a.purpose},
    )
    stamp(a, by=by, action=actions.ADVANCE_PAY_NOW)
    a.save()
    return batch
