"""What people do to engagement agreements, in history's words."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

AGREEMENT_ISSUED = Action("agreement.issued", _("issued a new version of the agreement"))
AGREEMENT_ACCEPTED = Action("agreement.accepted", _("accepted the agreement"))
AGREEMENT_PAPER_RECORDED = Action(
    "agreement.paper_recorded", _("recorded the agreement accepted on paper")
)
