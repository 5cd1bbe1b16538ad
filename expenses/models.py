"""Reimbursement claims with their receipt files, and advances with their settlement.

A claim is the detail of one reimbursement contribution (its category, the
distance of a mileage claim, its receipt files). An advance is money granted
before planned costs; it is paid as a reimbursement contribution like any other
approved work and later settled against the receipts. Files are stored only after
their metadata is stripped (``expenses.scrub``); receipts and settlements are
never edited.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel
from core.history import HistoryActionMixin
from core.money import MONEY_FIELD as MONEY
from engagements.models import Contribution, Engagement

# The longest trip one mileage claim may hold (miles or kilometres, as the rate is set).
MAX_DISTANCE = 2000
DISTANCE = {"max_digits": 6, "decimal_places": 1}
RATE = {"max_digits": 6, "decimal_places": 3}
# The most files one claim (or one advance receipt) may carry.
MAX_FILES = 10


class Category(models.TextChoices):
    MILEAGE = "mileage", _("Mileage")
    TRANSPORT = "transport", _("Transport (bus, train, taxi, parking)")
    CHILDCARE = "childcare", _("Childcare")
    MEALS = "meals", _("Meals")
    OTHER = "other", _("Other")


class FileKind(models.TextChoices):
    JPEG = "jpg", "JPEG"
    PNG = "png", "PNG"
    WEBP = "webp", "WebP"
    PDF = "pdf", "PDF"


class Claim(models.Model):
    """What a reimbursement is for: one per reimbursement contribution."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contribution = models.OneToOneField(
        Contribution, on_delete=models.PROTECT, related_name="claim"
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    distance = models.DecimalField(_("distance"), null=True, blank=True, **DISTANCE)
    mileage_rate = models.DecimalField(_("rate per mile"), null=True, blank=True, **RATE)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                name="claim_distance_bounded",
                condition=Q(distance__isnull=True) | Q(distance__gt=0, distance__lte=MAX_DISTANCE),
            ),
            models.CheckConstraint(
                name="claim_mileage_has_distance_and_rate",
                condition=~Q(category="mileage")
                | Q(distance__isnull=False, mileage_rate__isnull=False),
            ),
            models.CheckConstraint(
                name="claim_rate_bounded",
                condition=Q(mileage_rate__isnull=True)
                | Q(mileage_rate__gt=0, mileage_rate__lte=100),
            ),
        ]

    def __str__(self):
        return f"{self.get_category_display()} ({self.contribution.date})"


class ClaimFile(AppendOnlyModel):
    """One receipt file of a claim, stored without its metadata, encrypted at rest."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to="claims/%Y/%m/", max_length=255)
    kind = models.CharField(max_length=4, choices=FileKind.choices)
    size = models.PositiveIntegerField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    @property
    def is_image(self) -> bool:
        return self.kind != FileKind.PDF


class Advance(models.Model):
    """Money granted before planned costs, paid through a reimbursement contribution.

    Its standing is read from that contribution and from its settlement: granted
    (waiting for approval or payment), paid, settled.
    """

    class Standing(models.TextChoices):
        GRANTED = "granted", _("Granted, not paid yet")
        PAID = "paid", _("Paid, receipts to come")
        SETTLED = "settled", _("Settled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="advances")
    purpose = models.CharField(_("what it is for"), max_length=200)
    planned_for = models.DateField(_("date of the planned costs"))
    amount = models.DecimalField(_("amount"), **MONEY)
    contribution = models.OneToOneField(
        Contribution, on_delete=models.PROTECT, related_name="advance"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["-planned_for", "-id"]
        constraints = [
            models.CheckConstraint(name="advance_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="advance_amount_bounded", condition=Q(amount__lte=1_000_000)
            ),
        ]

    def __str__(self):
        return f"{self.purpose} ({self.planned_for})"

    @property
    def standing(self) -> str:
        if Settlement.objects.filter(advance_id=self.pk).exists():
            return self.Standing.SETTLED
        if self.contribution.status == Contribution.Status.PAID:
            return self.Standing.PAID
        return self.Standing.GRANTED

    def get_standing_display(self) -> str:
        return str(self.Standing(self.standing).label)


class AdvanceReceipt(AppendOnlyModel):
    """A receipt for money spent out of an advance: its amount and its file."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    advance = models.ForeignKey(Advance, on_delete=models.PROTECT, related_name="receipts")
    amount = models.DecimalField(_("amount spent"), **MONEY)
    description = models.CharField(_("what it was for"), max_length=200, blank=True)
    file = models.FileField(upload_to="advances/%Y/%m/", max_length=255)
    kind = models.CharField(max_length=4, choices=FileKind.choices)
    size = models.PositiveIntegerField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="advancereceipt_amount_bounded",
                condition=Q(amount__gt=0, amount__lte=1_000_000),
            ),
        ]

    @property
    def is_image(self) -> bool:
        return self.kind != FileKind.PDF


class Settlement(AppendOnlyModel):
    """An advance weighed against its receipts, once (the one-to-one makes a second a conflict)."""

    class Outcome(models.TextChoices):
        EVEN = "even", _("Spent exactly the advance")
        DIFFERENCE_PAID = "difference_paid", _("Spent more: the difference is paid")
        KEPT = "kept", _("Spent less: the rest is kept, not asked back")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    advance = models.OneToOneField(Advance, on_delete=models.PROTECT, related_name="settlement")
    advance_amount = models.DecimalField(_("advance"), **MONEY)
    spent = models.DecimalField(_("spent"), **MONEY)
    difference = models.DecimalField(_("difference"), **MONEY)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    difference_contribution = models.OneToOneField(
        Contribution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlement_of",
    )
    note = models.TextField(_("note"), blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    settled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="settlement_difference_adds_up",
                condition=Q(difference=models.F("spent") - models.F("advance_amount")),
            ),
            models.CheckConstraint(name="settlement_spent_not_negative", condition=Q(spent__gte=0)),
        ]
