"""Every write to contributions: one function per action, keyword-only.

Each action locks the row, checks its current state, changes it, stamps the
audit history with the actor and the reason, and leaves side effects to
``transaction.on_commit``. A call that no longer applies raises StateConflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError, NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.money import round_money
from engagements.models import (
    Activity,
    Contribution,
    Dispute,
    Engagement,
    Phase,
    Rate,
    RateCard,
    Study,
)
from engagements.rates import QUARTER, RATE_KIND_FOR, rate_in_force

Status = Contribution.Status
Kind = Contribution.Kind
EDITABLE_FIELDS = ("kind", "activity", "date", "quantity", "claimed_amount", "description")
# Far beyond any amount or quantity a column holds, and well inside what Decimal
# arithmetic (quantize, %) handles at its default precision of 28 digits.
TOO_LARGE = Decimal("1e15")
MAX_AMOUNT = Decimal("10000000000")  # a MONEY column holds less than this
MAX_QUANTITY = Decimal("10000")  # a QUANTITY column holds less than this


# --- who may act ----------------------------------------------------------------


def _is_own(user, engagement: Engagement) -> bool:
    consultant = getattr(user, "consultant", None) if user.is_authenticated else None
    return consultant is not None and consultant.pk == engagement.consultant_id


def _may_log(user, engagement: Engagement) -> bool:
    return user.has_perm("engagements.add_contribution") or _is_own(user, engagement)


def _may_edit(user, contribution: Contribution) -> bool:
    if user.has_perm("engagements.change_contribution"):
        return True
    # A consultant edits only what they logged themselves, on their own engagement.
    return _is_own(user, contribution.engagement) and contribution.logged_by_id == user.pk


# --- validation -------------------------------------------------------------------


def _decimal(value, field: str, *, limit: Decimal = TOO_LARGE, too_large: str = "") -> Decimal:
    """A finite Decimal of a sane size, or ValidationFailed on ``field``.

    Sizes are checked here, before any rounding: quantizing 1e30 to cents
    raises InvalidOperation, which must never reach the person as a 500.
    """
    if isinstance(value, float):
        raise ValidationFailed(_("Amounts are never floats."), field=field)
    try:
        result = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed(_("Enter a number."), field=field) from None
    if not result.is_finite():
        raise ValidationFailed(_("Enter a number."), field=field)
    if abs(result) >= limit:
        raise ValidationFailed(too_large or _("That number is too large."), field=field)
    return result


def _in_cents(value: Decimal) -> bool:
    """Whether ``value`` has at most two decimal places (``value`` below TOO_LARGE)."""
    return value == value.quantize(Decimal("0.01"))


def _clean_fields(*, values: dict, adjustment: bool = False) -> dict:
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

    cleaned = dict(values)
    if kind == Kind.REIMBURSEMENT:
        cleaned["quantity"] = Decimal("1")
        claimed = values.get("claimed_amount")
        if claimed in (None, ""):
            raise ValidationFailed(_("Enter the amount spent."), field="claimed_amount")
        claimed = _decimal(
            claimed, "claimed_amount", limit=MAX_AMOUNT, too_large=_("That amount is too large.")
        )
        if not _in_cents(claimed):
            raise ValidationFailed(
                _("Enter the amount in dollars and cents."), field="claimed_amount"
            )
        if (claimed <= 0 and not adjustment) or claimed == 0:
            raise ValidationFailed(
                _("The amount spent must be more than zero."), field="claimed_amount"
            )
        cleaned["claimed_amount"] = claimed
    else:
        cleaned["claimed_amount"] = None
        quantity = _decimal(values.get("quantity"), "quantity")
        if (quantity <= 0 and not adjustment) or quantity == 0:
            raise ValidationFailed(_("The quantity must be more than zero."), field="quantity")
        if abs(quantity) >= MAX_QUANTITY:
            raise ValidationFailed(_("That quantity is too large."), field="quantity")
        # _in_cents also stops a quantity so small that it rounds to zero when stored.
        if kind == Kind.HOURS and (quantity % QUARTER != 0 or not _in_cents(quantity)):
            raise ValidationFailed(
                _("Hours are logged in quarter hours (0.25, 0.5, 0.75)."), field="quantity"
            )
        if kind == Kind.HONORARIUM and (quantity % 1 != 0 or not _in_cents(quantity)):
            raise ValidationFailed(_("Honoraria are counted in whole numbers."), field="quantity")
        cleaned["quantity"] = quantity
    cleaned["description"] = (values.get("description") or "").strip()
    return cleaned


def _check_hours_cap(*, engagement: Engagement, extra_hours: Decimal, excluding: int | None = None):
    if engagement.hours_cap is None or extra_hours <= 0:
        return
    logged = Contribution.objects.filter(engagement=engagement, kind=Kind.HOURS).exclude(
        status=Status.REJECTED
    ).exclude(pk=excluding).aggregate(total=Sum("quantity"))["total"] or Decimal("0")
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


def _lock(contribution: Contribution) -> Contribution:
    return (
        Contribution.objects.select_for_update()
        .select_related("engagement")
        .get(pk=contribution.pk)
    )


def _check_seen_version(c: Contribution, seen_version) -> None:
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


# --- actions ------------------------------------------------------------------------


@transaction.atomic
def contribution_create(
    *,
    engagement: Engagement,
    by,
    kind: str,
    activity: str,
    date: date,
    quantity=None,
    claimed_amount=None,
    description: str = "",
    attachment=None,
    submit: bool = False,
    import_note: str = "",
) -> Contribution:
    """Log a contribution. A consultant's own entries always arrive submitted.

    ``import_note`` marks an entry brought in from a spreadsheet: its history
    then says it was imported, with the note as the reason.
    """
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if not _may_log(by, engagement):
        raise NotAllowed(_("You cannot log work on this engagement."))
    if engagement.status != Engagement.Status.ACTIVE:
        raise StateConflict(_("This engagement has ended; work can no longer be logged on it."))
    cleaned = _clean_fields(
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
        _check_hours_cap(engagement=engagement, extra_hours=cleaned["quantity"])
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
        stamp(contribution, by=by, action="contribution.imported", reason=import_note)
    else:
        stamp(
            contribution,
            by=by,
            action="contribution.submitted" if submit else "contribution.logged",
        )
    contribution.save()
    return contribution


@transaction.atomic
def contribution_update(
    *, contribution: Contribution, by, reason: str = "", **changes
) -> Contribution:
    """Edit a contribution that is not approved yet.

    A draft or returned entry may be edited freely (a returned one goes back to
    draft); an entry already submitted needs a reason, which the history keeps.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"attachment"}
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    c = _lock(contribution)
    if not _may_edit(by, c):
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
    cleaned = _clean_fields(values=values)
    if cleaned["kind"] == Kind.HOURS:
        _check_hours_cap(engagement=c.engagement, extra_hours=cleaned["quantity"], excluding=c.pk)
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
    action = "contribution.edited"
    if c.status == Status.REJECTED:
        c.status = Status.DRAFT
        action = "contribution.edited_after_return"
    stamp(c, by=by, action=action, reason=reason)
    c.save()
    return c


@transaction.atomic
def contribution_submit(*, contribution: Contribution, by) -> Contribution:
    c = _lock(contribution)
    if not _may_edit(by, c):
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
    stamp(c, by=by, action="contribution.submitted")
    c.save()
    return c


def _frozen_rate_and_amount(c: Contribution) -> tuple[Decimal | None, Decimal]:
    if c.kind == Kind.REIMBURSEMENT:
        return None, c.claimed_amount
    if c.is_adjustment:
        original = c.adjusts
        return original.rate, round_money(c.quantity * original.rate)
    rate = rate_in_force(
        rate_card=c.engagement.rate_card,
        activity=c.activity,
        kind=RATE_KIND_FOR[c.kind],
        on=c.date,
    )
    if rate is None:
        raise StateConflict(
            _(
                "There is no %(kind)s rate for %(activity)s on %(date)s in this engagement's "
                "rate card. Add one before approving."
            )
            % {
                "kind": Rate.Kind(RATE_KIND_FOR[c.kind]).label.lower(),
                "activity": c.get_activity_display().lower(),
                "date": c.date.isoformat(),
            },
            code="no_rate",
        )
    return rate.amount, round_money(c.quantity * rate.amount)


@transaction.atomic
def contribution_approve(*, contribution: Contribution, by, seen_version=None) -> Contribution:
    """Approve a submitted entry, freezing its rate and amount.

    ``seen_version`` ties the approval to the version the approver looked at:
    if the entry changed since, nothing is approved (StateConflict "changed").
    """
    c = _lock(contribution)
    if not by.has_perm("engagements.approve_contribution"):
        raise NotAllowed(_("You cannot approve contributions."))
    if c.status == Status.APPROVED and c.approved_by_id == by.pk:
        return c  # a repeated click: already done by this person
    if c.status != Status.SUBMITTED:
        raise StateConflict(
            _("Only an entry waiting for approval can be approved; this one is %(status)s.")
            % {"status": c.get_status_display().lower()}
        )
    _check_seen_version(c, seen_version)
    if c.logged_by_id == by.pk:
        raise NotAllowed(
            _("You logged this entry, so someone else must approve it."), code="own_entry"
        )
    if c.last_edited_by_id == by.pk:
        raise NotAllowed(
            _("You changed this entry, so someone else must approve it."), code="own_edit"
        )
    if _is_own(by, c.engagement):
        raise NotAllowed(_("Nobody approves their own work."), code="own_work")
    c.rate, c.amount = _frozen_rate_and_amount(c)
    c.status = Status.APPROVED
    c.approved_by = by
    c.approved_at = timezone.now()
    stamp(c, by=by, action="contribution.approved")
    c.save()
    return c


@transaction.atomic
def contribution_reject(
    *, contribution: Contribution, by, reason: str, seen_version=None
) -> Contribution:
    """Return a submitted entry with a reason; ``seen_version`` as for approval."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the entry is being returned."), field="reason")
    c = _lock(contribution)
    if not by.has_perm("engagements.approve_contribution"):
        raise NotAllowed(_("You cannot return contributions."))
    if c.status != Status.SUBMITTED:
        raise StateConflict(
            _("Only an entry waiting for approval can be returned; this one is %(status)s.")
            % {"status": c.get_status_display().lower()}
        )
    _check_seen_version(c, seen_version)
    c.status = Status.REJECTED
    c.rejected_reason = reason
    c.version += 1
    stamp(c, by=by, action="contribution.rejected", reason=reason)
    c.save()
    return c


@transaction.atomic
def contribution_adjust(
    *, contribution: Contribution, by, reason: str, quantity_delta=None, amount_delta=None
) -> Contribution:
    """Correct an approved or paid entry with a new row that refers to it.

    Hours and honoraria change by a quantity (priced at the original's frozen
    rate); reimbursements by an amount. The adjustment waits for approval by
    someone other than its author, like any entry.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the entry is being adjusted."), field="reason")
    original = _lock(contribution)
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
        cleaned = _clean_fields(values=values, adjustment=True)
    except ValidationFailed as exc:
        field = "amount_delta" if original.kind == Kind.REIMBURSEMENT else "quantity_delta"
        raise ValidationFailed(exc.message, field=field) from None
    if original.kind == Kind.HOURS:
        _check_hours_cap(engagement=original.engagement, extra_hours=cleaned["quantity"])
    live = list(original.adjustments.exclude(status=Status.REJECTED))
    if original.kind == Kind.REIMBURSEMENT:
        current = original.claimed_amount + sum((a.claimed_amount for a in live), Decimal("0"))
        if current + cleaned["claimed_amount"] < 0:
            raise ValidationFailed(
                _("That would take the amount below zero (it is %(current)s now).")
                % {"current": f"{current:.2f}"},
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
    stamp(adjustment, by=by, action="contribution.adjustment_added", reason=reason)
    adjustment.save()
    return adjustment


# --- studies and rates ---------------------------------------------------------------


@transaction.atomic
def study_create(*, name: str, by, hourly_rate_floor=None, budget=None, description="") -> Study:
    from django.conf import settings

    study = Study(
        name=name.strip(),
        description=description,
        budget=budget,
        currency=settings.CURRENCY,
        hourly_rate_floor=(
            settings.HOURLY_RATE_FLOOR if hourly_rate_floor is None else hourly_rate_floor
        ),
    )
    stamp(study, by=by, action="study.created")
    study.save()
    from engagements.models import DEFAULT_PHASES

    for position, name_ in enumerate(DEFAULT_PHASES, start=1):
        phase = Phase(study=study, name=str(name_), position=position)
        stamp(phase, by=by, action="phase.created")
        phase.save()
    return study


@transaction.atomic
def rate_add(
    *, rate_card: RateCard, by, kind: str, amount, effective_from: date, activity: str = ""
) -> Rate:
    """Add a rate to a card, taking effect on ``effective_from``.

    Rates are a schedule and are never edited: a change is a new rate with a
    later date. The study's floor is copied on the row, where a database
    constraint holds the rate at or above it.
    """
    study = Study.objects.select_for_update().get(pk=rate_card.study_id)
    if kind not in Rate.Kind.values:
        raise ValidationFailed(_("Choose hourly or flat."), field="kind")
    if activity not in ("", *Activity.values):
        raise ValidationFailed(_("Choose an activity."), field="activity")
    amount = _decimal(amount, "amount", limit=MAX_AMOUNT, too_large=_("That amount is too large."))
    floor = study.hourly_rate_floor if kind == Rate.Kind.HOURLY else Decimal("0.00")
    if amount <= 0:
        raise ValidationFailed(_("A rate must be more than zero."), field="amount")
    if amount < floor:
        raise ValidationFailed(
            _("This study's hourly rates cannot go below %(floor)s.") % {"floor": floor},
            field="amount",
            code="below_floor",
        )
    if Rate.objects.filter(
        rate_card=rate_card, kind=kind, activity=activity, effective_from=effective_from
    ).exists():
        raise StateConflict(
            _("This card already has a rate for that activity taking effect on that date."),
            field="effective_from",
        )
    rate = Rate(
        rate_card=rate_card,
        kind=kind,
        activity=activity,
        amount=round_money(amount),
        floor=floor,
        effective_from=effective_from,
        created_by=by,
    )
    stamp(rate, by=by, action="rate.added")
    rate.save()
    return rate


# --- disputes ---------------------------------------------------------------------


@transaction.atomic
def dispute_open(*, contribution: Contribution, by, comment: str) -> Dispute:
    """A consultant flags one of their entries as wrong, with a comment."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed(_("Say what is wrong with this entry."), field="comment")
    c = _lock(contribution)
    if not (_is_own(by, c.engagement) or by.has_perm("engagements.change_contribution")):
        raise NotAllowed(_("You cannot dispute this entry."))
    if Dispute.objects.filter(contribution=c, status=Dispute.Status.OPEN).exists():
        raise StateConflict(_("This entry already has an open dispute."), code="already_disputed")
    dispute = Dispute(contribution=c, raised_by=by, comment=comment)
    stamp(dispute, by=by, action="dispute.opened", reason=comment)
    dispute.save()
    # The entry's own history says it was disputed, and why.
    stamp(c, by=by, action="dispute.opened", reason=comment)
    c.save(update_fields=["updated_at"])
    return dispute


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, by, resolution: str) -> Dispute:
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed(_("Say how the dispute was resolved."), field="resolution")
    d = (
        Dispute.objects.select_for_update()
        .select_related("contribution__engagement")
        .get(pk=dispute.pk)
    )
    if not by.has_perm("engagements.approve_contribution"):
        raise NotAllowed(_("You cannot resolve disputes."))
    if _is_own(by, d.contribution.engagement):
        raise NotAllowed(_("Nobody resolves a dispute about their own work."))
    if d.status != Dispute.Status.OPEN:
        raise StateConflict(_("This dispute is already resolved."))
    d.status = Dispute.Status.RESOLVED
    d.resolution = resolution
    d.resolved_by = by
    d.resolved_at = timezone.now()
    stamp(d, by=by, action="dispute.resolved", reason=resolution)
    d.save()
    c = d.contribution
    stamp(c, by=by, action="dispute.resolved", reason=resolution)
    c.save(update_fields=["updated_at"])
    return d


# --- engagements ------------------------------------------------------------------


def _optional_positive(value, field: str, *, limit: Decimal) -> Decimal | None:
    if value in (None, ""):
        return None
    value = _decimal(value, field, limit=limit)
    if value <= 0:
        raise ValidationFailed(_("Enter a number more than zero, or leave it empty."), field=field)
    if not _in_cents(value):
        raise ValidationFailed(_("Use at most two decimal places."), field=field)
    return value


@transaction.atomic
def engagement_create(
    *,
    by,
    consultant,
    phase: Phase,
    role: str,
    rate_card: RateCard,
    hours_cap=None,
    budget=None,
) -> Engagement:
    """Engage a consultant in one phase of a study, in a role, on one of its rate cards."""
    from consultants.models import Consultant

    if not by.has_perm("engagements.add_engagement"):
        raise NotAllowed(_("You cannot engage consultants."))
    # The consultant's row is the lock: two people engaging them at once queue up.
    consultant = Consultant.objects.select_for_update().get(pk=consultant.pk)
    if consultant.status != Consultant.Status.ACTIVE:
        raise StateConflict(
            _("This consultant is not active, so they cannot be engaged."), field="consultant"
        )
    role = (role or "").strip()
    if not role:
        raise ValidationFailed(_("Enter the consultant's role in this phase."), field="role")
    if len(role) > 120:
        raise ValidationFailed(_("Keep the role under 120 characters."), field="role")
    if rate_card.study_id != phase.study_id:
        raise ValidationFailed(
            _("Choose a rate card of the study this phase belongs to."), field="rate_card"
        )
    hours_cap = _optional_positive(hours_cap, "hours_cap", limit=Decimal("100000"))
    if hours_cap is not None and hours_cap % QUARTER != 0:
        raise ValidationFailed(_("Give the cap in quarter hours."), field="hours_cap")
    budget = _optional_positive(budget, "budget", limit=Decimal("10000000000"))
    if Engagement.objects.filter(consultant=consultant, phase=phase, role__iexact=role).exists():
        raise ValidationFailed(
            _("This consultant already has that role in this phase."),
            field="role",
            code="duplicate",
        )
    engagement = Engagement(
        consultant=consultant,
        phase=phase,
        role=role,
        rate_card=rate_card,
        hours_cap=hours_cap,
        budget=budget,
    )
    stamp(engagement, by=by, action="engagement.created")
    engagement.save()
    return engagement


# --- many entries at once -----------------------------------------------------------


@dataclass
class Decision:
    """What happened to one entry of a bulk approval or return."""

    contribution: Contribution
    outcome: str  # approved, returned, refused, conflict, invalid
    message: str = ""


def contributions_decide(
    *,
    by,
    contributions: Iterable[Contribution],
    approve: bool,
    reason: str = "",
    seen_versions: dict | None = None,
) -> list[Decision]:
    """Approve or return many entries, each through its own service call.

    Each entry is its own transaction on purpose: one that changed in the
    meantime (a conflict) or that the reviewer logged themselves (refused) is
    reported and does not hold back the others. ``seen_versions`` maps an
    entry's public id to the version the reviewer saw (see contribution_approve).
    """
    seen_versions = seen_versions or {}
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ValidationFailed(_("Say why the entries are being returned."), field="reason")
    decisions = []
    for contribution in contributions:
        try:
            seen = seen_versions.get(contribution.public_id)
            if approve:
                done = contribution_approve(contribution=contribution, by=by, seen_version=seen)
                outcome = "approved"
            else:
                done = contribution_reject(
                    contribution=contribution, by=by, reason=reason, seen_version=seen
                )
                outcome = "returned"
        except NotAllowed as exc:
            decisions.append(Decision(contribution, "refused", exc.message))
        except StateConflict as exc:
            decisions.append(Decision(contribution, "conflict", exc.message))
        except ValidationFailed as exc:
            decisions.append(Decision(contribution, "invalid", exc.message))
        else:
            decisions.append(Decision(done, outcome))
    return decisions


@dataclass(frozen=True)
class ImportRow:
    """One spreadsheet row, already parsed and matched to its engagement."""

    number: int  # 1-based data row, for messages
    engagement: Engagement
    kind: str
    activity: str
    date: date
    quantity: Decimal | None
    claimed_amount: Decimal | None
    description: str
    note: str  # the history reason: where the row came from


class ImportRefused(ValidationFailed):
    """Some rows could not be imported; ``errors`` maps row numbers to messages."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(
            _("Nothing was imported: %(count)d rows could not be saved.") % {"count": len(errors)},
            code="import_refused",
        )
        self.errors = errors


@transaction.atomic
def contributions_import(*, by, rows: Iterable[ImportRow]) -> list[Contribution]:
    """Import spreadsheet rows all or nothing, each through ``contribution_create``.

    Imported entries always arrive waiting for approval: the importer is their
    logger, so someone else approves them (separation of duties). Every row is
    tried so that all errors are reported at once; any error undoes them all.
    """
    if not by.has_perm("engagements.add_contribution"):
        raise NotAllowed(_("You cannot import contributions."))
    created: list[Contribution] = []
    errors: dict[int, str] = {}
    for row in rows:
        try:
            created.append(
                contribution_create(
                    engagement=row.engagement,
                    by=by,
                    kind=row.kind,
                    activity=row.activity,
                    date=row.date,
                    quantity=row.quantity,
                    claimed_amount=row.claimed_amount,
                    description=row.description,
                    submit=True,
                    import_note=row.note,
                )
            )
        except DomainError as exc:
            errors[row.number] = exc.message
    if errors:
        raise ImportRefused(errors)
    if not created:
        raise ValidationFailed(_("The file has no rows to import."))
    return created
