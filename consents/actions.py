"""What people do in the consent ledger, in history's words (on the honorarium's history)."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

CONSENT_HONORARIUM = Action(
    "consent.honorarium", _("agreed to a use of their words; this is its honorarium")
)
