"""A consultant disputes one of their entries; a coordinator resolves it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from engagements import actions
from engagements.models import Contribution, Dispute
from engagements.services.checks import is_own, lock_contribution

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def dispute_open(*, contribution: Contribution, by: User, comment: str) -> Dispute:
    """A consultant flags one of their entries as wrong, with a comment."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed(_("Say what is wrong with this entry."), field="comment")
    # A dispute stops money: the payment holding this work (if any) is locked first,
    # in the order every payment writer takes, and held or flagged below.
    from payments.services.disputes import hold_for_dispute, lock_payment_holding

    payment = lock_payment_holding(contribution.pk)
    c = lock_contribution(contribution)
    if not (is_own(by, c.engagement) or by.has_perm("engagements.change_contribution")):
        raise NotAllowed(_("You cannot dispute this entry."))
    if Dispute.objects.filter(contribution=c, status=Dispute.Status.OPEN).exists():
        raise StateConflict(_("This entry already has an open dispute."), code="already_disputed")
    dispute = Dispute(contribution=c, raised_by=by, comment=comment)
    stamp(dispute, by=by, action=actions.DISPUTE_OPENED, reason=comment)
    dispute.save()
    # The entry's own history says it was disputed, and why.
    stamp(c, by=by, action=actions.DISPUTE_OPENED, reason=comment)
    c.save(update_fields=["updated_at"])
    hold_for_dispute(payment, contribution=c, comment=comment, by=by)
    return dispute


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, by: User, resolution: str) -> Dispute:
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
    if is_own(by, d.contribution.engagement):
        raise NotAllowed(_("Nobody resolves a dispute about their own work."))
    if d.status != Dispute.Status.OPEN:
        raise StateConflict(_("This dispute is already resolved."))
    d.status = Dispute.Status.RESOLVED
    d.resolution = resolution
    d.resolved_by = by
    d.resolved_at = timezone.now()
    stamp(d, by=by, action=actions.DISPUTE_RESOLVED, reason=resolution)
    d.save()
    c = d.contribution
    stamp(c, by=by, action=actions.DISPUTE_RESOLVED, reason=resolution)
    c.save(update_fields=["updated_at"])
    return d
