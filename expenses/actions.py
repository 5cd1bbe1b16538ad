"""What people do to claims and advances, in history's words."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

CLAIM_CREATED = Action("claim.created", _("sent this reimbursement claim with its receipts"))
ADVANCE_GRANTED = Action("advance.granted", _("granted this advance"))
ADVANCE_RECEIPT_ADDED = Action("advance.receipt_added", _("added a receipt to this advance"))
ADVANCE_SETTLED = Action("advance.settled", _("settled this advance against its receipts"))
ADVANCE_PAY_NOW = Action("advance.pay_now", _("put this advance in a payout batch of its own"))
