"""Approving and returning contributions, one at a time or many at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core import limits
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.money import format_money, round_money
from engagements import actions
from engagements.models import Contribution, Rate
from engagements.paydates import promised_pay_date
from engagements.rates import RATE_KIND_FOR, rate_in_force
from engagements.services.checks import (
    Kind,
    Status,
    check_hours_per_day,
    check_seen_version,
    is_own,
    lock_contribution,
)

if TYPE_CHECKING:
    from accounts.models import User


def _frozen_rate_and_amount(c: Contribution) -> tuple[Decimal | None, Decimal]:
    if c.kind == Kind.REIMBURSEMENT:
        # A reimbursement always has a claimed amount (a database constraint).
        return None, cast(Decimal, c.claimed_amount)
    if c.is_adjustment:
        original = c.adjusts
        # An adjustment refers to an approved or paid entry of its own kind, not a
        # reimbursement here, so that entry exists and has its frozen rate.
        assert original is not None and original.rate is not None
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


def _check_entry_amount(c: Contribution) -> None:
    """An honorarium's frozen amount stays within the per-entry limit (reimbursements
    are bounded when logged)."""
    if c.kind != Kind.HONORARIUM or c.is_adjustment:
        return
    limit = limits.amount_per_entry()
    if c.amount is not None and c.amount > limit:
        raise ValidationFailed(
            _("This honorarium comes to %(amount)s; one entry can be at most %(limit)s.")
            % {"amount": format_money(c.amount), "limit": format_money(limit)},
            field="quantity",
            code="over_limit",
        )


def over_engagement_limits(c: Contribution) -> list[str]:
    """What approving ``c`` (its amount frozen) would take past its engagement's
    budget or hours cap, in words; empty when it stays within both.

    Counts what is already approved or paid on the engagement, in the database.
    """
    engagement = c.engagement
    frozen = Contribution.objects.filter(
        engagement=engagement, status__in=Contribution.LOCKED_STATUSES
    ).exclude(pk=c.pk)
    problems = []
    if engagement.budget is not None and c.amount is not None and c.amount > 0:
        used = frozen.aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if used + c.amount > engagement.budget:
            problems.append(
                _(
                    "Approving this brings the engagement's approved amount to %(total)s, "
                    "above its budget of %(budget)s."
                )
                % {
                    "total": format_money(used + c.amount),
                    "budget": format_money(engagement.budget),
                }
            )
    if engagement.hours_cap is not None and c.kind == Kind.HOURS and c.quantity > 0:
        hours = frozen.filter(kind=Kind.HOURS).aggregate(total=Sum("quantity"))["total"] or Decimal(
            "0"
        )
        if hours + c.quantity > engagement.hours_cap:
            problems.append(
                _(
                    "Approving this brings the engagement's approved hours to %(total)s, "
                    "above its cap of %(cap)s."
                )
                % {
                    "total": f"{(hours + c.quantity).normalize():f}",
                    "cap": f"{engagement.hours_cap.normalize():f}",
                }
            )
    return problems


@transaction.atomic
def contribution_approve(
    *,
    contribution: Contribution,
    by: User,
    seen_version: int | str | None = None,
    override_reason: str = "",
) -> Contribution:
    """Approve a submitted entry, freezing its rate and amount.

    ``seen_version`` ties the approval to the version the approver looked at:
    if the entry changed since, nothing is approved (StateConflict "changed").
    Work that would take the engagement past its budget or hours cap is refused
    unless the approver gives ``override_reason``, which the history keeps.
    """
    c = lock_contribution(contribution)
    if not by.has_perm("engagements.approve_contribution"):
        raise NotAllowed(_("You cannot approve contributions."))
    if c.status == Status.APPROVED and c.approved_by_id == by.pk:
        return c  # a repeated click: already done by this person
    if c.status != Status.SUBMITTED:
        raise StateConflict(
            _("Only an entry waiting for approval can be approved; this one is %(status)s.")
            % {"status": c.get_status_display().lower()}
        )
    check_seen_version(c, seen_version)
    if c.logged_by_id == by.pk:
        raise NotAllowed(
            _("You logged this entry, so someone else must approve it."), code="own_entry"
        )
    if c.last_edited_by_id == by.pk:
        raise NotAllowed(
            _("You changed this entry, so someone else must approve it."), code="own_edit"
        )
    if is_own(by, c.engagement):
        raise NotAllowed(_("Nobody approves their own work."), code="own_work")
    c.rate, c.amount = _frozen_rate_and_amount(c)
    _check_entry_amount(c)
    if c.kind == Kind.HOURS:
        check_hours_per_day(
            consultant_id=c.engagement.consultant_id,
            work_date=c.date,
            extra_hours=c.quantity,
            excluding=c.pk,
            statuses=Contribution.LOCKED_STATUSES,
        )
    over = over_engagement_limits(c)
    override_reason = (override_reason or "").strip()
    if over and not override_reason:
        raise ValidationFailed(
            " ".join(over)
            + " "
            + _("Give a reason to approve it anyway, or raise the budget or cap first."),
            field="override_reason",
            code="over_budget",
        )
    c.status = Status.APPROVED
    c.approved_by = by
    c.approved_at = timezone.now()
    c.promised_pay_date = promised_pay_date(
        study=c.engagement.phase.study, approved_on=timezone.localdate(c.approved_at)
    )
    if over:
        stamp(
            c,
            by=by,
            action=actions.CONTRIBUTION_APPROVED_OVER_LIMIT,
            reason=override_reason + " (" + " ".join(over) + ")",
        )
    else:
        stamp(c, by=by, action=actions.CONTRIBUTION_APPROVED)
    c.save()
    return c


@transaction.atomic
def contribution_reject(
    *,
    contribution: Contribution,
    by: User,
    reason: str,
    seen_version: int | str | None = None,
) -> Contribution:
    """Return a submitted entry with a reason; ``seen_version`` as for approval."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the entry is being returned."), field="reason")
    c = lock_contribution(contribution)
    if not by.has_perm("engagements.approve_contribution"):
        raise NotAllowed(_("You cannot return contributions."))
    if c.status != Status.SUBMITTED:
        raise StateConflict(
            _("Only an entry waiting for approval can be returned; this one is %(status)s.")
            % {"status": c.get_status_display().lower()}
        )
    check_seen_version(c, seen_version)
    c.status = Status.REJECTED
    c.rejected_reason = reason
    c.version += 1
    stamp(c, by=by, action=actions.CONTRIBUTION_REJECTED, reason=reason)
    c.save()
    return c


@dataclass
class Decision:
    """What happened to one entry of a bulk approval or return."""

    contribution: Contribution
    outcome: str  # approved, returned, refused, conflict, invalid
    message: str = ""


def contributions_decide(
    *,
    by: User,
    contributions: Iterable[Contribution],
    approve: bool,
    reason: str = "",
    seen_versions: dict[Any, int | str | None] | None = None,
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
