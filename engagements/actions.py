"""What people do to studies, engagements, contributions and disputes, in history's words."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

STUDY_CREATED = Action("study.created", _("created this study"))
STUDY_PAY_CALENDAR_SET = Action(
    "study.pay_calendar_set", _("set this study's payout calendar and time-to-pay target")
)
PHASE_CREATED = Action("phase.created", _("created this phase"))
RATECARD_CREATED = Action("ratecard.created", _("created this rate card"))
RATE_ADDED = Action("rate.added", _("added this rate"))
ENGAGEMENT_CREATED = Action("engagement.created", _("created this engagement"))
ENGAGEMENT_UPDATED = Action("engagement.updated", _("changed this engagement"), lists_changes=True)

CONTRIBUTION_LOGGED = Action("contribution.logged", _("logged this entry"))
CONTRIBUTION_SUBMITTED = Action("contribution.submitted", _("submitted this entry for approval"))
CONTRIBUTION_EDITED = Action("contribution.edited", _("changed this entry"), lists_changes=True)
CONTRIBUTION_EDITED_AFTER_RETURN = Action(
    "contribution.edited_after_return",
    _("changed this entry after it was returned"),
    lists_changes=True,
)
CONTRIBUTION_APPROVED = Action("contribution.approved", _("approved this entry"))
CONTRIBUTION_APPROVED_OVER_LIMIT = Action(
    "contribution.approved_over_limit",
    _("approved this entry over the engagement's budget or hours cap"),
)
CONTRIBUTION_REJECTED = Action("contribution.rejected", _("returned this entry"))
CONTRIBUTION_ADJUSTMENT_ADDED = Action("contribution.adjustment_added", _("added an adjustment"))
CONTRIBUTION_PAID = Action("contribution.paid", _("marked this entry paid"))
CONTRIBUTION_RELEASED = Action(
    "contribution.released", _("released this entry for a later payment")
)
CONTRIBUTION_IMPORTED = Action("contribution.imported", _("imported this entry"))

DISPUTE_OPENED = Action("dispute.opened", _("disputed this entry"))
DISPUTE_RESOLVED = Action("dispute.resolved", _("resolved the dispute"))
