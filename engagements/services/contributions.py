"""Logging, editing, submitting and adjusting one contribution."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.money import format_money
from engagements import actions
from engagements.models import Contribution, Engagement
from engagements.services.checks import (
    Kind,
    Status,
    check_hours_cap,
    check_hours_per_day,
    check_loggable,
    clean_fields,
    lock_contribution,
    may_edit,
)

if TYPE_CHECKING:
    from accounts.models import User

EDITABLE_FIELDS = ("kind", "activity", "date", "quantity", "claimed_amount", "description")


@transaction.atomic
def contribution_create(
    *,
    engagement: Engagement,
    by: User,
    kind: str,
    activity: str,
    date: date,
    quantity: object = None,
    claimed_amount: object = None,
    description: str = "",
    attachment: File | None = None,
    submit: bool = False,
    import_note: str = "",
) -> Contribution:
    """Log a contribution. A consultant's own entries always arrive submitted.

    ``import_note`` marks an entry brought in from a spreadsheet: its history
    then says it was imported, with the note as the reason.
    """
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    check_loggable(by=by, engagement=engagement)
    cleaned = clean_fields(
        values={
            "kind": kind,
            "activity": activity,
            "date": date,
            "quantity": quantity,
            "claimed_amount": claimed_amount,
            "description": description,
        },
    )
    if cleaned["kind"] == Kind.HOURS:
        check_hours_cap(engagement=engagement, extra_hours=cleaned["quantity"])
        check_hours_per_day(
            consultant_id=engagement.consultant_id,
            work_date=cleaned["date"],
            extra_hours=cleaned["quantity"],
        )
    by_consultant = not by.has_perm("engagements.add_contribution")
    submit = submit or by_consultant
    now = timezone.now()
    contribution = Contribution(
        engagement=engagement,
        logged_by=by,
        status=Status.SUBMITTED if submit else Status.DRAFT,
        submitted_at=now if submit else None,
        **cleaned,
    )
    if attachment is not None:
        contribution.attachment = attachment
    if import_note:
        stamp(contribution, by=by, action=actions.CONTRIBUTION_IMPORTED, reason=import_note)
    else:
        stamp(
            contribution,
            by=by,
            action=actions.CONTRIBUTION_SUBMITTED if submit else actions.CONTRIBUTION_LOGGED,
        )
    contribution.save()
    return contribution


@transaction.atomic
def contribution_update(
    *, contribution: Contribution, by: User, reason: str = "", **changes: Any
) -> Contribution:
    """Edit a contribution that is not approved yet.

    A draft or returned entry may be edited freely (a returned one goes back to
    draft); an entry already submitted needs a reason, which the history keeps.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"attachment"}
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    c = lock_contribution(contribution)
    if not may_edit(by, c):
        raise NotAllowed(_("You cannot change this entry."))
    if c.status in Contribution.LOCKED_STATUSES:
        raise StateConflict(
            _("This entry is approved and read-only. Correct it with an adjustment instead."),
            code="locked",
        )
    if c.is_adjustment:
        raise StateConflict(_("An adjustment cannot be edited; return it and add a new one."))
    reason = (reason or "").strip()
    if c.status == Status.SUBMITTED and not reason:
        raise ValidationFailed(
            _("Say why you are changing an entry that was already submitted."), field="reason"
        )
    values = {f: getattr(c, f) for f in EDITABLE_FIELDS}
    values.update({k: v for k, v in changes.items() if k in EDITABLE_FIELDS})
    cleaned = clean_fields(values=values)
    if cleaned["kind"] == Kind.HOURS:
        check_hours_cap(engagement=c.engagement, extra_hours=cleaned["quantity"], excluding=c.pk)
        check_hours_per_day(
            consultant_id=c.engagement.consultant_id,
            work_date=cleaned["date"],
            extra_hours=cleaned["quantity"],
            excluding=c.pk,
        )
    changed = [f for f in EDITABLE_FIELDS if getattr(c, f) != cleaned[f]]
    if "attachment" in changes:
        c.attachment = changes["attachment"]
        changed.append("attachment")
    if not changed:
        return c
    for field in EDITABLE_FIELDS:
        setattr(c, field, cleaned[field])
    # Whoever changes what the entry says does not approve it (separation of duties).
    c.last_edited_by = by
    c.version += 1
    action = actions.CONTRIBUTION_EDITED
    if c.status == Status.REJECTED:
        c.status = Status.DRAFT
        action = actions.CONTRIBUTION_EDITED_AFTER_RETURN
    stamp(c, by=by, action=action, reason=reason)
    c.save()
    return c


@transaction.atomic
def contribution_submit(*, contribution: Contribution, by: User) -> Contribution:
    c = lock_contribution(contribution)
    if not may_edit(by, c):
        raise NotAllowed(_("You cannot submit this entry."))
    if c.status == Status.SUBMITTED:
        return c  # already done: submitting twice changes nothing
    if c.status != Status.DRAFT:
        raise StateConflict(
            _("Only a draft can be submitted; this entry is %(status)s.")
            % {"status": c.get_status_display().lower()}
        )
    c.status = Status.SUBMITTED
    c.submitted_at = timezone.now()
    c.version += 1
    stamp(c, by=by, action=actions.CONTRIBUTION_SUBMITTED)
    c.save()
    return c


@transaction.atomic
def contribution_adjust(
    *,
    contribution: Contribution,
    by: User,
    reason: str,
    quantity_delta: object = None,
    amount_delta: object = None,
) -> Contribution:
    """Correct an approved or paid entry with a new row that refers to it.

    Hours and honoraria change by a quantity (priced at the original's frozen
    rate); reimbursements by an amount. The adjustment waits for approval by
    someone other than its author, like any entry.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the entry is being adjusted."), field="reason")
    original = lock_contribution(contribution)
    if not by.has_perm("engagements.change_contribution"):
        raise NotAllowed(_("You cannot adjust contributions."))
    if original.is_adjustment:
        raise StateConflict(_("Adjust the original entry, not an adjustment."))
    if original.status not in Contribution.LOCKED_STATUSES:
        raise StateConflict(
            _("Only approved entries are adjusted; edit this one directly instead."),
            code="not_locked",
        )
    values = {
        "kind": original.kind,
        "activity": original.activity,
        "date": original.date,
        "description": reason,
    }
    if original.kind == Kind.REIMBURSEMENT:
        if amount_delta in (None, ""):
            raise ValidationFailed(_("Enter the change in the amount."), field="amount_delta")
        values["claimed_amount"] = amount_delta
    else:
        if quantity_delta in (None, ""):
            raise ValidationFailed(_("Enter the change in the quantity."), field="quantity_delta")
        values["quantity"] = quantity_delta
    try:
        cleaned = clean_fields(values=values, adjustment=True)
    except ValidationFailed as exc:
        field = "amount_delta" if original.kind == Kind.REIMBURSEMENT else "quantity_delta"
        raise ValidationFailed(exc.message, field=field) from None
    if original.kind == Kind.HOURS:
        check_hours_cap(engagement=original.engagement, extra_hours=cleaned["quantity"])
        check_hours_per_day(
            consultant_id=original.engagement.consultant_id,
            work_date=original.date,
            extra_hours=cleaned["quantity"],
        )
    live = list(original.adjustments.exclude(status=Status.REJECTED))
    if original.kind == Kind.REIMBURSEMENT:
        # A reimbursement and its adjustments always have a claimed amount (a database
        # constraint).
        current = cast(Decimal, original.claimed_amount) + sum(
            (cast(Decimal, a.claimed_amount) for a in live), Decimal("0")
        )
        if current + cleaned["claimed_amount"] < 0:
            raise ValidationFailed(
                _("That would take the amount below zero (it is %(current)s now).")
                % {"current": format_money(current)},
                field="amount_delta",
            )
    else:
        current = original.quantity + sum((a.quantity for a in live), Decimal("0"))
        if current + cleaned["quantity"] < 0:
            raise ValidationFailed(
                _("That would take the quantity below zero (it is %(current)s now).")
                % {"current": current},
                field="quantity_delta",
            )
    adjustment = Contribution(
        engagement=original.engagement,
        adjusts=original,
        logged_by=by,
        status=Status.SUBMITTED,
        submitted_at=timezone.now(),
        reason=reason,
        **cleaned,
    )
    stamp(adjustment, by=by, action=actions.CONTRIBUTION_ADJUSTMENT_ADDED, reason=reason)
    adjustment.save()
    return adjustment
