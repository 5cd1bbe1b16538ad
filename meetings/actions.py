"""What people do to sessions, Delphi rounds and invitations, in history's words."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

SESSION_SCHEDULED = Action("session.scheduled", _("scheduled this session"))
SESSION_CANCELLED = Action("session.cancelled", _("cancelled this session"))
INVITATION_SENT = Action("invitation.sent", _("invited this consultant"))
INVITATION_RENEWED = Action("invitation.renewed", _("invited this consultant again"))
INVITATION_DECLINED = Action("invitation.declined", _("declined this invitation"))
INVITATION_ATTENDED = Action("invitation.attended", _("recorded attendance"))
INVITATION_COMPLETED = Action("invitation.completed", _("recorded the round as completed"))
INVITATION_ABSENT = Action("invitation.absent", _("recorded an absence"))
# On the contribution itself: the entry came from a session, named in the reason.
CONTRIBUTION_FROM_SESSION = Action(
    "contribution.from_session", _("created this entry from a session's attendance")
)
