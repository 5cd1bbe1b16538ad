"""Notices that a promised pay date is about to slip, each told once.

A ``SlipNotice`` records that the people who can fix a blocked payment, and the
consultant, were told: one row per consultant, reason and promised date (the unique
constraint makes the check idempotent: ``manage.py promises_check`` run twice tells
nobody twice). Rows are never changed.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from consultants.models import Consultant
from core.append_only import AppendOnlyModel
from engagements.models import Contribution


class SlipReason(models.TextChoices):
    # The payment's own hold reasons (payments.models.Payment.Hold), same codes.
    W9_MISSING = "w9_missing", _("A W-9 is needed")
    ACCOUNT_NOT_READY = "account_not_ready", _("Direct deposit is not set up")
    BENEFITS_CAP = "benefits_cap", _("The consultant's own limit")
    NOT_POSITIVE = "not_positive", _("The amount is zero or negative")
    OVER_LIMIT = "over_limit", _("Over the most Honora pays at once")
    DISPUTED = "disputed", _("An open dispute")
    AGREEMENT_NOT_ACCEPTED = "agreement_pending", _("No accepted agreement")
    PAYMENT_FAILED = "payment_failed", _("The transfer failed")
    # Nothing holds it back, but its day has come and no payout batch includes it.
    NOT_BATCHED = "not_batched", _("Not in a payout batch yet")


class SlipNotice(AppendOnlyModel):
    consultant = models.ForeignKey(
        Consultant, on_delete=models.PROTECT, related_name="slip_notices"
    )
    reason = models.CharField(max_length=24, choices=SlipReason.choices)
    promised_date = models.DateField()
    contributions = models.ManyToManyField(Contribution, related_name="slip_notices")
    # Whom it was sent to (counts only: the addresses are personal data).
    staff_told = models.PositiveSmallIntegerField(default=0)
    consultant_outcome = models.CharField(max_length=24, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(AppendOnlyModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultant", "reason", "promised_date"], name="slip_notice_told_once"
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} ({self.promised_date})"
