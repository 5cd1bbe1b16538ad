"""A consultant's own pay plans (defer or split approved work) and income letters.

A pay plan is what the consultant asked, written once: which approved entries it covers,
to which month they are deferred, or over how many months and at most how much a month
they are spread. Cancelling is a new event row, never an edit. An income letter copies
the monthly figures it states when it is issued, like a receipt does.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consultants.models import Consultant
from core.append_only import AppendOnlyError, AppendOnlyModel
from core.money import MONEY_FIELD as MONEY
from engagements.models import Contribution
from payments.documents.models import new_verification_code

# Bounds on what a consultant may ask (see income.services).
MAX_DEFER_MONTHS_AHEAD = 12
MIN_SPLIT_MONTHS = 2
MAX_SPLIT_MONTHS = 6
MAX_LETTER_MONTHS = 24


class PayPlan(AppendOnlyModel):
    class Kind(models.TextChoices):
        DEFER = "defer", _("Defer")
        SPLIT = "split", _("Split")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="pay_plans")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The first day of the first month the covered work may be paid in.
    start_month = models.DateField()
    # 1 for a deferral; 2 to 6 for a split.
    months = models.PositiveSmallIntegerField(default=1)
    # A split's most per month; none for a deferral.
    month_limit = models.DecimalField(null=True, blank=True, **MONEY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="payplan_shape",
                condition=(
                    Q(kind="defer", months=1, month_limit__isnull=True)
                    | Q(kind="split", months__gte=2, months__lte=6, month_limit__gt=Decimal("0"))
                ),
            ),
        ]

    def __str__(self):
        return f"Pay plan {self.public_id} ({self.kind})"


class PayPlanEntry(AppendOnlyModel):
    """One approved entry a plan covers (whole entries only)."""

    plan = models.ForeignKey(PayPlan, on_delete=models.PROTECT, related_name="entries")
    contribution = models.ForeignKey(Contribution, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "contribution"], name="payplan_entry_once")
        ]

    def __str__(self):
        return f"{self.plan_id}: {self.contribution_id}"


class PayPlanEvent(AppendOnlyModel):
    class Kind(models.TextChoices):
        CANCELLED = "cancelled", _("Cancelled by the consultant")

    plan = models.ForeignKey(PayPlan, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "kind"], name="payplan_event_once")]

    def __str__(self):
        return f"{self.plan_id}: {self.kind}"


class LetterCounter(models.Model):
    """The last income letter number used in a year: numbers have no gaps."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


# A letter is written once; its stored PDF (file, hash, time) is filled in once, after a
# worker renders it. Nothing else about it ever changes.
LETTER_FILLED_ONCE = frozenset({"pdf", "sha256", "rendered_at"})


class IncomeLetterQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if not set(kwargs) <= LETTER_FILLED_ONCE:
            raise AppendOnlyError("income letters are never edited: issue a new one")
        return super().update(**kwargs)

    def delete(self):
        raise AppendOnlyError("income letters are never deleted")


class IncomeLetter(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=32, unique=True)
    verification_code = models.CharField(max_length=16, unique=True, default=new_verification_code)
    consultant = models.ForeignKey(
        Consultant, on_delete=models.PROTECT, related_name="income_letters"
    )
    period_start = models.DateField()  # first day of the first month
    period_end = models.DateField()  # first day of the last month
    # [{"month": "2026-03", "income": "120.00", "reimbursements": "23.40"}, ...]
    months = models.JSONField(default=list)
    income_total = models.DecimalField(**MONEY)
    reimbursements_total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    language = models.CharField(max_length=8)
    # What the letter states, copied when it was issued.
    payee_name = models.CharField(max_length=200)
    organization_name = models.CharField(max_length=200)
    organization_address = models.CharField(max_length=300)
    organization_tax_id = models.CharField(max_length=20)
    signatory_name = models.CharField(max_length=200)
    signatory_title = models.CharField(max_length=200)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)
    pdf = models.FileField(upload_to="income-letters/%Y/", blank=True, max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    objects = IncomeLetterQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="incomeletter_period_order",
                condition=Q(period_start__lte=models.F("period_end")),
            )
        ]

    def __str__(self):
        return self.number

    def save(self, *args, **kwargs):
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= LETTER_FILLED_ONCE:
                raise AppendOnlyError("income letters are never edited: issue a new one")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("income letters are never deleted")

    @property
    def is_rendered(self) -> bool:
        return bool(self.sha256 and self.pdf)
