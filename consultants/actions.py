"""What people do to consultants, their tax forms and identity vaults, in history's words."""

from django.utils.translation import gettext_lazy as _

from consultants.models import TaxForm
from core.history import Action

CONSULTANT_CREATED = Action("consultant.created", _("added this consultant"))
CONSULTANT_UPDATED = Action("consultant.updated", _("updated the details"), lists_changes=True)
CONSULTANT_PREFERENCES_CHANGED = Action(
    "consultant.preferences_changed", _("changed preferences"), lists_changes=True
)

TAXFORM_CREATED = Action("taxform.created", _("started the tax form record"))
TAXFORM_TIN_RECORDED = Action("taxform.tin_recorded", _("recorded the taxpayer id"))
# A tax form's new status: "taxform.received" and so on.
TAXFORM_STATUS = {
    TaxForm.Status.MISSING: Action("taxform.missing", _("marked the tax form as not on file")),
    TaxForm.Status.REQUESTED: Action(
        "taxform.requested", _("recorded that the tax form was requested")
    ),
    TaxForm.Status.RECEIVED: Action("taxform.received", _("recorded the tax form as received")),
    TaxForm.Status.INVALID: Action(
        "taxform.invalid", _("marked the tax form as needing correction")
    ),
}

# Finance recorded a form it received (``taxform_receive``), and attached its signed copy.
TAXFORM_W9_RECEIVED = Action("taxform.us_form_received", _("recorded a W-9 as received"))
TAXFORM_W8BEN_RECEIVED = Action(
    "taxform.non_us_form_received", _("recorded a W-8BEN (non-US person) as received")
)
TAXFORM_FILE_ATTACHED = Action("taxform.file_attached", _("attached the signed tax form"))

VAULT_CREATED = Action("vault.created", _("created the identity record"))
VAULT_UPDATED = Action("vault.updated", _("updated the identity record"))
