"""Payout batches, payments, the items they pay, attempts at the provider, webhooks.

The money rules live in the database where they can:
- a contribution is in at most one live payment item (a partial unique index);
- whoever builds a batch does not approve it;
- amounts are positive where they must be; a paid payment has its date.
Rows are never deleted. A payment's items are released (live=False, with the
time and reason) when the payment is cancelled, voided, returned or fails for good.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consultants.models import Consultant, PayoutMethod
from core.append_only import AppendOnlyModel
from core.history import HistoryActionMixin
from core.money import MONEY_FIELD as MONEY
from engagements.models import Contribution, Phase, Study

# The document models live with the documents; imported here so the app registry finds them.
from payments.documents.models import AnnualStatement, Receipt, ReceiptCounter  # noqa: F401


class FinanceAccess(models.Model):
    """Holds the permission that opens the finance pages; no rows are stored."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("access_finance", "Can use the finance pages")]

    def __str__(self):
        return "finance access"


class Rail(models.TextChoices):
    """How the money moved: finance tells 1099-K (network-settled) from 1099-NEC by it."""

    STRIPE = "stripe", _("Stripe Connect transfer")
    MANUAL = "manual", _("Manual (check, card or cash)")


# What finance records as the reference of a manual hand-over, by method. The form's
# help text and the message when it is missing both come from this one table.
REFERENCES = {
    PayoutMethod.CHECK: _("the check number"),
    PayoutMethod.PREPAID_CARD: _("the card's last four digits"),
    PayoutMethod.GIFT_CARD: _("the gift card's code reference (not the code itself)"),
    PayoutMethod.CASH: _("the signed receipt or envelope reference"),
}


def reference_help(method: str) -> str:
    """The reference asked for ``method``, as a sentence ("The check number.")."""
    what = REFERENCES.get(method)
    return (
        f"{capfirst(what)}."
        if what
        else str(_("Check number, card last four, or gift card code reference."))
    )


def reference_missing(method: str) -> str:
    what = REFERENCES.get(method)
    return str(_("Enter %(what)s.") % {"what": what}) if what else str(_("Enter a reference."))


class StripeAccount(models.Model):
    """A consultant's Stripe Connect (Express) account, as Stripe last told us."""

    consultant = models.OneToOneField(
        Consultant, on_delete=models.PROTECT, related_name="stripe_account"
    )
    account_id = models.CharField(max_length=64, unique=True)
    # Where the consultant is (ISO 3166 alpha-2), as sent when the account was created; it
    # chose the service agreement and never changes through set-up (Stripe's does not).
    country = models.CharField(max_length=2, blank=True)
    payouts_enabled = models.BooleanField(default=False)
    transfers_active = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    details_submitted = models.BooleanField(default=False)
    # The newest event applied, so an older event arriving late changes nothing.
    last_event_created = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    def __str__(self):
        return self.account_id

    @property
    def ready(self) -> bool:
        """Stripe can pay this account: STRIPE.md's two conditions."""
        return self.payouts_enabled and self.transfers_active and not self.requirements_due


class PayoutBatch(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING_APPROVAL = "pending_approval", _("Waiting for a second approver")
        APPROVED = "approved", _("Approved")
        PROCESSING = "processing", _("Paying")
        COMPLETED = "completed", _("Completed")
        COMPLETED_WITH_FAILURES = "completed_with_failures", _("Completed with failures")
        CANCELLED = "cancelled", _("Cancelled")

    CANCELLABLE = (Status.DRAFT, Status.PENDING_APPROVAL, Status.APPROVED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, default="USD")
    cutoff_date = models.DateField(_("approved work up to"))
    study = models.ForeignKey(
        Study, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    phase = models.ForeignKey(
        Phase, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(
        _("payout method"),
        max_length=16,
        choices=PayoutMethod.choices,
        blank=True,
        help_text=_("Blank: every method."),
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("payout batches")
        constraints = [
            models.CheckConstraint(
                name="batch_second_approver",
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                violation_error_message=_("Whoever builds a batch does not approve it."),
            ),
            models.CheckConstraint(
                name="batch_approved_has_approver",
                condition=~Q(
                    status__in=["approved", "processing", "completed", "completed_with_failures"]
                )
                | Q(approved_by__isnull=False, approved_at__isnull=False),
            ),
            models.CheckConstraint(
                name="batch_cancel_has_reason",
                condition=~Q(status="cancelled")
                | (~Q(cancel_reason="") & Q(cancelled_at__isnull=False)),
            ),
        ]

    def __str__(self):
        return f"Batch of {self.created_at:%Y-%m-%d} ({self.get_status_display()})"


class Payment(models.Model):
    """One consultant's money in one batch."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Ready to pay")
        HELD = "held", _("On hold")
        PROCESSING = "processing", _("Paying")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        RETURNED = "returned", _("Returned")
        VOIDED = "voided", _("Voided")
        CANCELLED = "cancelled", _("Cancelled")

    # States in which the payment still holds its contributions (a returned one too,
    # until the reversal of its transfer is confirmed).
    LIVE = (Status.PENDING, Status.HELD, Status.PROCESSING, Status.PAID, Status.FAILED)
    FINAL = (Status.PAID, Status.RETURNED, Status.VOIDED, Status.CANCELLED)
    # Money still on its way to the consultant (pre-flight counts it with what was paid).
    ON_ITS_WAY = (Status.PENDING, Status.PROCESSING, Status.FAILED)

    class Reversal(models.TextChoices):
        PENDING = "pending", _("Reversal pending")
        FAILED = "failed", _("Reversal refused")
        DONE = "done", _("Reversed")

    class Hold(models.TextChoices):
        W9_MISSING = "w9_missing", _("A W-9 is needed before this payment (tax-form threshold).")
        ACCOUNT_NOT_READY = "account_not_ready", _("The Stripe account cannot receive payouts yet.")
        BENEFITS_CAP = "benefits_cap", _("This payment would go over the consultant's own limit.")
        NOT_POSITIVE = "not_positive", _("The amount is zero or negative.")
        OVER_LIMIT = (
            "over_limit",
            _("The payment or its batch is over the most Honora pays at once."),
        )
        DISPUTED = "disputed", _("The consultant disputes an entry in this payment.")
        AGREEMENT_NOT_ACCEPTED = (
            "agreement_pending",
            _("The consultant has not accepted the agreement this work falls under."),
        )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payments")
    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PayoutMethod.choices)
    rail = models.CharField(max_length=8, choices=Rail.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    hold_reason = models.CharField(max_length=32, choices=Hold.choices, blank=True)
    hold_detail = models.TextField(blank=True)
    # Manual methods: what finance recorded when the money was handed over.
    reference = models.CharField(
        _("reference"),
        max_length=120,
        blank=True,
        help_text=_("Check number, card last four, or gift card code reference."),
    )
    gift_card_store = models.CharField(max_length=80, blank=True)
    handed_over_on = models.DateField(_("date handed over"), null=True, blank=True)
    proof = models.FileField(
        _("proof"), upload_to="payments/proof/%Y/%m/", blank=True, max_length=255
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Stripe: the transfer that paid it, once known.
    transfer_id = models.CharField(max_length=64, blank=True)
    # Stripe: the connected account's bank payout that carried it, once a payout.paid
    # or payout.failed event has been matched to it (see payments.stripe.events).
    stripe_payout_id = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    closed_reason = models.TextField(
        blank=True, help_text=_("Why it was voided, returned or cancelled.")
    )
    # Stripe, a failed payment that was ever sent: when a listing of its transfer group,
    # made while no call was in flight, last found no live transfer. Only then may it
    # be cancelled (its work released); cleared whenever it fails anew.
    stripe_checked_at = models.DateTimeField(null=True, blank=True)
    # Stripe, a returned payment whose transfer Honora takes back (its bank payout
    # failed): its work is released only once the reversal is confirmed.
    reversal_status = models.CharField(
        max_length=16, choices=Reversal.choices, blank=True, default=""
    )
    reversal_id = models.CharField(max_length=64, blank=True)
    reversal_error = models.TextField(blank=True)
    # Reversals Stripe refused so far: each new try after a refusal uses a new key.
    reversal_refusals = models.PositiveIntegerField(default=0)
    # Something finance must look at that no state says (a transfer Stripe holds for a
    # cancelled payment, a failed bank payout Honora could not match); shown loudly.
    alert = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["batch", "consultant__display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "consultant"], name="payment_one_per_consultant_per_batch"
            ),
            models.CheckConstraint(
                name="payment_hold_has_reason",
                condition=~Q(status="held") | ~Q(hold_reason=""),
            ),
            models.CheckConstraint(
                name="payment_paid_is_positive_and_dated",
                condition=~Q(status__in=["paid", "returned"])
                | Q(amount__gt=0, paid_at__isnull=False),
            ),
            models.CheckConstraint(
                name="payment_rail_matches_method",
                condition=Q(method="stripe", rail="stripe")
                | (~Q(method="stripe") & Q(rail="manual")),
            ),
            models.CheckConstraint(
                name="payment_closed_has_reason",
                condition=~Q(status__in=["voided", "returned", "cancelled"]) | ~Q(closed_reason=""),
            ),
            models.CheckConstraint(
                name="payment_reversal_only_when_returned",
                condition=Q(reversal_status="") | Q(status="returned", rail="stripe"),
            ),
        ]
        indexes = [models.Index(fields=["consultant", "status"], name="payment_consultant_status")]

    def __str__(self):
        return f"{self.amount} {self.currency} to {self.consultant} ({self.get_status_display()})"

    @property
    def is_manual(self) -> bool:
        return self.rail == Rail.MANUAL

    @property
    def status_label(self) -> str:
        """The status as pages show it: see ``payment_status_label``."""
        return payment_status_label(self.status, self.rail)


# A check, card or cash payment that is "processing" waits for someone to hand it over;
# nothing is paying it yet. Pages say so instead of "Paying" (a label by rail; the
# status stays the same, so every rule about processing payments still applies).
WAITING_FOR_HAND_OVER = _("Waiting for hand-over")


def payment_status_label(status: str, rail: str) -> str:
    """A payment's status in plain words, told apart by rail where it matters."""
    if status == Payment.Status.PROCESSING and rail == Rail.MANUAL:
        return str(WAITING_FOR_HAND_OVER)
    return str(Payment.Status(status).label)


class PaymentItem(models.Model):
    """Which contribution a payment pays, and for how much (copied when the batch was built)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="items")
    contribution = models.ForeignKey(
        Contribution, on_delete=models.PROTECT, related_name="payment_items"
    )
    amount = models.DecimalField(**MONEY)
    live = models.BooleanField(default=True)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["payment", "contribution__date", "id"]
        constraints = [
            # Invariant 2: a contribution is in at most one live payment.
            models.UniqueConstraint(
                fields=["contribution"],
                condition=Q(live=True),
                name="payment_item_one_live_per_contribution",
                violation_error_message=_("This contribution is already in a live payment."),
            ),
            models.CheckConstraint(
                name="payment_item_release_recorded",
                condition=Q(live=True) | (Q(released_at__isnull=False) & ~Q(release_reason="")),
            ),
        ]

    def __str__(self):
        return f"{self.amount} for contribution {self.contribution_id}"


class PaymentAttempt(models.Model):
    """One try at the provider, with its idempotency key stored before the call."""

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")  # the provider refused; nothing was created
        UNKNOWN = "unknown", _("Outcome unknown")  # e.g. the connection dropped

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=255, unique=True)
    # The exact request sent under the key, fixed when the key is minted: every retry
    # sends these same parameters (Stripe refuses a key reused with others).
    request = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTED)
    # Calls made under this key so far, and the claim of the worker making one now:
    # while claimed_until is in the future no other worker calls with this key.
    tries = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When the outcome is unknown: the earliest time to call again with the same key.
    next_try_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["payment", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "number"], name="attempt_number_per_payment"
            ),
        ]

    def __str__(self):
        return f"Attempt {self.number} for payment {self.payment_id} ({self.status})"


class StripeSetupFailure(AppendOnlyModel):
    """Stripe refused to start a consultant's direct-deposit set-up: what it said, for finance.

    Only Stripe's own words about Honora's request (code, type, status, request id and a
    capped message); Honora sends Stripe nothing personal, so they hold nothing personal.
    """

    class Step(models.TextChoices):
        ACCOUNT = "account", _("creating the account")
        LINK = "link", _("making the set-up link")

    consultant = models.ForeignKey(
        Consultant, on_delete=models.PROTECT, related_name="stripe_setup_failures"
    )
    step = models.CharField(max_length=16, choices=Step.choices)
    code = models.CharField(max_length=100, blank=True)
    error_type = models.CharField(max_length=100, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.step} {self.code or self.error_type}"


class WebhookEvent(AppendOnlyModel):
    """Each Stripe event once: stored in the same transaction as its effect."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    account = models.CharField(max_length=64, blank=True)
    created = models.BigIntegerField(help_text=_("The event's own creation time (unix seconds)."))
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.type} {self.event_id}"
