"""What people and Honora do to batches, payments and Stripe accounts, in history's words."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

BATCH_BUILT = Action("batch.built", _("built this batch"))
BATCH_SUBMITTED = Action("batch.submitted", _("sent this batch for approval"))
BATCH_APPROVED = Action("batch.approved", _("approved this batch"))
BATCH_EXECUTED = Action("batch.executed", _("started paying this batch"))
BATCH_COMPLETED = Action("batch.completed", _("finished paying this batch"))
BATCH_CANCELLED = Action("batch.cancelled", _("cancelled this batch"))
BATCH_REOPENED = Action(
    "batch.reopened", _("reopened this batch to pay a retried or released payment")
)

PAYMENT_CREATED = Action("payment.created", _("added this payment to the batch"))
PAYMENT_HELD = Action("payment.held", _("put this payment on hold"))
PAYMENT_HOLD_RELEASED = Action("payment.hold_released", _("released the hold"))
PAYMENT_PROCESSING = Action("payment.processing", _("started this payment"))
PAYMENT_PAID = Action("payment.paid", _("recorded this payment as paid"))
PAYMENT_FAILED = Action("payment.failed", _("recorded that this payment failed"))
PAYMENT_RETRIED = Action("payment.retried", _("tried this payment again"))
PAYMENT_CANCELLED = Action("payment.cancelled", _("cancelled this payment"))
PAYMENT_VOIDED = Action("payment.voided", _("voided this payment"))
PAYMENT_RETURNED = Action("payment.returned", _("recorded that the money came back"))
PAYMENT_PAYOUT_MATCHED = Action(
    "payment.payout_matched", _("matched the bank payout that carried this payment")
)
PAYMENT_STRIPE_CHECK_REQUESTED = Action(
    "payment.stripe_check_requested", _("asked Stripe what it holds for this payment")
)
PAYMENT_STRIPE_CHECKED = Action(
    "payment.stripe_checked", _("checked with Stripe: no transfer exists")
)
PAYMENT_REVERSAL_CONFIRMED = Action(
    "payment.reversal_confirmed", _("confirmed the transfer was taken back")
)
PAYMENT_REVERSAL_FAILED = Action(
    "payment.reversal_failed", _("recorded that Stripe refused to take it back")
)
PAYMENT_FLAGGED = Action("payment.flagged", _("flagged this payment for finance"))

PAYMENT_ITEM_ADDED = Action("payment_item.added", _("added this entry to the payment"))
PAYMENT_ITEM_RELEASED = Action("payment_item.released", _("released this entry from the payment"))

ATTEMPT_STARTED = Action("payment_attempt.started", _("started a transfer attempt"))
ATTEMPT_SUCCEEDED = Action("payment_attempt.succeeded", _("recorded the transfer"))
ATTEMPT_FAILED = Action("payment_attempt.failed", _("recorded that the attempt failed"))
ATTEMPT_UNKNOWN = Action("payment_attempt.unknown", _("recorded that Stripe's answer was unsure"))
ATTEMPT_ENDED = Action("payment_attempt.ended", _("ended this attempt"))
ATTEMPT_MISMATCH = Action(
    "payment_attempt.mismatch", _("recorded a transfer that does not match the payment")
)

STRIPE_ACCOUNT_CREATED = Action("stripe_account.created", _("started direct-deposit set-up"))
STRIPE_ACCOUNT_UPDATED = Action("stripe_account.updated", _("updated from Stripe"))
