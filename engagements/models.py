"""Studies, phases, rate cards, engagements and contributions.

A contribution's amount is frozen when it is approved, from the rate in force
on the day of the work. After approval it is never edited: corrections are
adjustment rows that refer to it and carry a reason.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from consultants.models import Consultant
from core.history import HistoryActionMixin
from core.money import MONEY_FIELD as MONEY

QUANTITY = {"max_digits": 7, "decimal_places": 2}

TIME_TO_PAY_MAX_DAYS = 60


def default_time_to_pay_days() -> int:
    """The organisation's target (TIME_TO_PAY_TARGET_DAYS), within a study's bounds."""
    return max(1, min(settings.TIME_TO_PAY_TARGET_DAYS, TIME_TO_PAY_MAX_DAYS))


class PayCalendar(models.TextChoices):
    NONE = "none", _("No batch days (the target alone)")
    WEEKLY = "weekly", _("Weekly, on chosen weekdays")
    MONTHLY = "monthly", _("Monthly, on chosen days of the month")


class Activity(models.TextChoices):
    WORK = "work", _("Work")
    PREPARATION = "preparation", _("Preparation")
    TRAVEL = "travel", _("Travel")
    MEETING = "meeting", _("Meeting")
    PAPERWORK = "paperwork", _("Paperwork")
    TRAINING = "training", _("Training")


class Study(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    budget = models.DecimalField(_("budget"), null=True, blank=True, **MONEY)
    hourly_rate_floor = models.DecimalField(
        _("hourly rate floor"),
        help_text=_("No hourly rate in this study may go below this."),
        **MONEY,
    )
    time_to_pay_days = models.PositiveSmallIntegerField(
        _("time-to-pay target in days"),
        default=default_time_to_pay_days,
        help_text=_("Approved work is paid within this many days."),
    )
    pay_calendar = models.CharField(
        _("payout calendar"), max_length=8, choices=PayCalendar.choices, default=PayCalendar.NONE
    )
    # The batch days, comma-separated: weekdays 0 (Monday) to 6 for a weekly calendar,
    # days of the month 1 to 28 for a monthly one; empty without a calendar. A string
    # rather than an array so SQLite and PostgreSQL hold it alike (engagements.paydates).
    pay_days = models.CharField(_("batch days"), max_length=90, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        verbose_name_plural = _("studies")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="study_time_to_pay_bounded",
                condition=Q(time_to_pay_days__gte=1)
                & Q(time_to_pay_days__lte=TIME_TO_PAY_MAX_DAYS),
            ),
            models.CheckConstraint(
                name="study_pay_calendar_days",
                condition=(Q(pay_calendar="none") & Q(pay_days=""))
                | (Q(pay_calendar="weekly") & Q(pay_days__regex=r"^[0-6](,[0-6])*$"))
                | (
                    Q(pay_calendar="monthly")
                    & Q(pay_days__regex=r"^([1-9]|1[0-9]|2[0-8])(,([1-9]|1[0-9]|2[0-8]))*$")
                ),
            ),
            models.CheckConstraint(
                name="study_floor_not_negative", condition=Q(hourly_rate_floor__gte=0)
            ),
            models.CheckConstraint(
                name="study_budget_positive", condition=Q(budget__isnull=True) | Q(budget__gt=0)
            ),
            models.CheckConstraint(
                name="study_currency_iso", condition=Q(currency__regex=r"^[A-Z]{3}$")
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def batch_days(self) -> tuple[int, ...]:
        """The calendar's days as numbers (see ``pay_days``); empty without a calendar."""
        if self.pay_calendar == PayCalendar.NONE or not self.pay_days:
            return ()
        return tuple(sorted({int(part) for part in self.pay_days.split(",")}))


DEFAULT_PHASES = (
    _("Design"),
    _("Recruitment"),
    _("Instrument review"),
    _("Analysis"),
    _("Dissemination"),
)


class Phase(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="phases")
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("order"), default=0)
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["study", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="phase_unique_name_per_study"),
        ]

    def __str__(self):
        return self.name


class RateCard(models.Model):
    """A named set of rates (for a role, say), each with the date it takes effect."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="rate_cards")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["study", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "name"], name="ratecard_unique_name_per_study"
            ),
        ]

    def __str__(self):
        return self.name


class Rate(models.Model):
    """One rate of a card, in force from ``effective_from`` until the next one.

    Rates form a schedule: a new rate supersedes the previous one on its date,
    so two rates can never be in force for the same activity on the same day.
    A blank activity is the card's rate for every activity without its own.
    """

    class Kind(models.TextChoices):
        HOURLY = "hourly", _("Hourly rate")
        FLAT = "flat", _("Flat honorarium")

    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="rates")
    activity = models.CharField(
        _("activity"),
        max_length=16,
        choices=Activity.choices,
        blank=True,
        help_text=_("Leave blank for every activity without a rate of its own."),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    floor = models.DecimalField(
        _("floor"), help_text=_("The lowest this rate may be; copied from the study."), **MONEY
    )
    effective_from = models.DateField(_("in force from"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["rate_card", "activity", "kind", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card", "activity", "kind", "effective_from"],
                name="rate_one_in_force_per_activity_and_date",
                violation_error_message=_(
                    "This card already has a rate for that activity taking effect on that date."
                ),
            ),
            models.CheckConstraint(name="rate_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="rate_floor_not_negative", condition=Q(floor__gte=0)),
            models.CheckConstraint(
                name="rate_not_below_floor",
                condition=Q(amount__gte=F("floor")),
                violation_error_message=_("A rate cannot go below its floor."),
            ),
        ]

    def __str__(self):
        what = self.get_activity_display() or _("any activity")
        return f"{self.rate_card}: {what} {self.amount} ({self.get_kind_display()}) from {self.effective_from}"


class Engagement(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="engagements")
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="engagements")
    role = models.CharField(_("role"), max_length=120)
    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="engagements")
    hours_cap = models.DecimalField(_("hours cap"), null=True, blank=True, **QUANTITY)
    budget = models.DecimalField(_("budget"), null=True, blank=True, **MONEY)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["phase__position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultant", "phase", "role"], name="engagement_unique_role_in_phase"
            ),
            models.CheckConstraint(
                name="engagement_cap_positive",
                condition=Q(hours_cap__isnull=True) | Q(hours_cap__gt=0),
            ),
            models.CheckConstraint(
                name="engagement_budget_positive",
                condition=Q(budget__isnull=True) | Q(budget__gt=0),
            ),
        ]

    def __str__(self):
        return f"{self.consultant} · {self.phase} · {self.role}"


class Contribution(models.Model):
    class Kind(models.TextChoices):
        HOURS = "hours", _("Hours")
        HONORARIUM = "honorarium", _("Honorarium")
        REIMBURSEMENT = "reimbursement", _("Reimbursement")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Returned")
        PAID = "paid", _("Paid")

    LOCKED_STATUSES = (Status.APPROVED, Status.PAID)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.PROTECT, related_name="contributions"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    activity = models.CharField(_("activity"), max_length=16, choices=Activity.choices)
    date = models.DateField(_("date of the work"))
    quantity = models.DecimalField(
        _("quantity"),
        help_text=_("Hours in quarter hours; honoraria as a count; 1 for a reimbursement."),
        **QUANTITY,
    )
    claimed_amount = models.DecimalField(
        _("amount spent"), null=True, blank=True, help_text=_("Reimbursements only."), **MONEY
    )
    description = models.TextField(_("description"), blank=True)
    attachment = models.FileField(
        _("receipt or proof"), upload_to="contributions/%Y/%m/", blank=True, max_length=255
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    rate = models.DecimalField(_("rate"), null=True, blank=True, **MONEY)
    amount = models.DecimalField(_("amount"), null=True, blank=True, **MONEY)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Set when the entry is approved (engagements.paydates) and kept when a payment that
    # held it is cancelled or fails: a promise that slipped stays on record as slipped.
    promised_pay_date = models.DateField(_("promised pay date"), null=True, blank=True)
    rejected_reason = models.TextField(_("reason it was returned"), blank=True)
    adjusts = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="adjustments"
    )
    reason = models.TextField(_("reason for the adjustment"), blank=True)
    # Who last changed what the entry says (its kind, activity, date, quantity,
    # amount, description or receipt): they do not approve it (separation of duties).
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Counts the changes made before approval: a reviewer's decision names the
    # version they looked at, and a decision on an entry changed since is refused.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    # Both bookkeeping columns are read from the history itself (who changed the
    # entry, and each change), so the history does not repeat them.
    history = HistoricalRecords(
        bases=[HistoryActionMixin], excluded_fields=["last_edited_by", "version"]
    )

    class Meta:
        ordering = ["-date", "-id"]
        permissions = [("approve_contribution", "Can approve or reject contributions")]
        indexes = [
            models.Index(fields=["status", "date"], name="contribution_status_date"),
            # The staff list's order (Meta.ordering): a page without sorting the table.
            models.Index(fields=["-date", "-id"], name="contribution_date_id_desc"),
            # The review queue and the dashboard's waiting list: oldest submitted first.
            models.Index(
                fields=["status", "submitted_at", "id"], name="contribution_status_submitted"
            ),
            # The dashboard's approved, unpaid list: oldest approval first.
            models.Index(
                fields=["status", "approved_at", "id"], name="contribution_status_approved"
            ),
            # The dashboard's sums per engagement and status (study -> phase -> engagement
            # -> contribution): read from the index alone on PostgreSQL.
            models.Index(
                fields=["engagement", "status"],
                include=["kind", "quantity", "amount", "claimed_amount"],
                name="contribution_engagement_sums",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="contribution_quantity_positive",
                condition=Q(adjusts__isnull=True, quantity__gt=0)
                | (Q(adjusts__isnull=False) & ~Q(quantity=0)),
                violation_error_message=_("The quantity must be more than zero."),
            ),
            models.CheckConstraint(
                name="contribution_hours_in_quarter_hours",
                condition=~Q(kind="hours") | Exact(Mod(F("quantity") * 100, 25), 0),
                violation_error_message=_("Hours are logged in quarter hours (0.25, 0.5, 0.75)."),
            ),
            models.CheckConstraint(
                name="contribution_honorarium_whole_count",
                condition=~Q(kind="honorarium") | Exact(Mod(F("quantity") * 100, 100), 0),
                violation_error_message=_("Honoraria are counted in whole numbers."),
            ),
            models.CheckConstraint(
                name="contribution_reimbursement_shape",
                condition=(
                    Q(kind="reimbursement", quantity=1, claimed_amount__isnull=False)
                    & (
                        Q(adjusts__isnull=True, claimed_amount__gt=0)
                        | (Q(adjusts__isnull=False) & ~Q(claimed_amount=0))
                    )
                )
                | (~Q(kind="reimbursement") & Q(claimed_amount__isnull=True)),
                violation_error_message=_(
                    "A reimbursement needs the amount spent, more than zero."
                ),
            ),
            models.CheckConstraint(
                name="contribution_amount_positive",
                condition=Q(amount__isnull=True) | Q(adjusts__isnull=False) | Q(amount__gt=0),
            ),
            models.CheckConstraint(
                name="contribution_approved_is_frozen",
                condition=~Q(status__in=["approved", "paid"])
                | Q(amount__isnull=False, approved_by__isnull=False, approved_at__isnull=False),
            ),
            models.CheckConstraint(
                name="contribution_approver_is_not_logger",
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("logged_by")),
                violation_error_message=_("Nobody approves what they logged."),
            ),
            models.CheckConstraint(
                name="contribution_approver_is_not_last_editor",
                condition=Q(approved_by__isnull=True)
                | Q(last_edited_by__isnull=True)
                | ~Q(approved_by=F("last_edited_by")),
                violation_error_message=_("Nobody approves an entry they changed."),
            ),
            models.CheckConstraint(
                name="contribution_rejection_has_reason",
                condition=~Q(status="rejected") | ~Q(rejected_reason=""),
            ),
            models.CheckConstraint(
                name="contribution_adjustment_has_reason",
                condition=Q(adjusts__isnull=True) | ~Q(reason=""),
            ),
            models.CheckConstraint(
                name="contribution_adjustment_not_of_adjustment",
                condition=Q(adjusts__isnull=True) | ~Q(adjusts=F("id")),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.date} ({self.get_status_display()})"

    @property
    def is_adjustment(self) -> bool:
        return self.adjusts_id is not None

    @property
    def promise_open(self) -> bool:
        """Approved, not paid yet, with a promised pay date to show."""
        return self.status == self.Status.APPROVED and self.promised_pay_date is not None

    @property
    def promise_late(self) -> bool:
        return self.promise_open and self.promised_pay_date < timezone.localdate()

    @property
    def is_locked(self) -> bool:
        return self.status in self.LOCKED_STATUSES

    @property
    def hours(self) -> Decimal:
        return self.quantity if self.kind == self.Kind.HOURS else Decimal("0")


class Dispute(models.Model):
    """A consultant's flag on an entry they think is wrong, until a coordinator resolves it."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contribution = models.ForeignKey(
        Contribution, on_delete=models.PROTECT, related_name="disputes"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("what is wrong"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(_("how it was resolved"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contribution"],
                condition=Q(status="open"),
                name="dispute_one_open_per_contribution",
                violation_error_message=_("This entry already has an open dispute."),
            ),
            models.CheckConstraint(name="dispute_comment_required", condition=~Q(comment="")),
            models.CheckConstraint(
                name="dispute_resolution_complete",
                condition=Q(status="open")
                | (~Q(resolution="") & Q(resolved_by__isnull=False, resolved_at__isnull=False)),
            ),
        ]

    def __str__(self):
        return f"Dispute on {self.contribution} ({self.get_status_display()})"


class ImportRun(models.Model):
    """A large CSV import checked, then applied, by a background task (``engagements.tasks``).

    The uploaded file is kept only while it is needed, in the private storage
    (encrypted at rest, never served): from the upload until it is applied,
    found not clean, or replaced by the same person's next file. ``result`` is
    the report (``engagements.imports.ImportReport.as_json``) of the last run.
    """

    class Mode(models.TextChoices):
        CHECK = "check", _("check")
        APPLY = "apply", _("import")

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting to start")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="imports/", blank=True)
    digest = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.CHECK)
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.QUEUED)
    bytes_done = models.PositiveBigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # An import that wrote entries: with a queued or running one, it holds its
    # file's digest (the constraint below), so a file is imported once however
    # long ago it was checked, and by whichever path (``import_once``).
    applied = models.BooleanField(default=False)

    # The runs that hold a file's digest: an import waiting, running, or done with entries.
    HOLDS_DIGEST = Q(mode="apply") & (Q(status__in=["queued", "running"]) | Q(applied=True))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["digest"],
                condition=Q(mode="apply") & (Q(status__in=["queued", "running"]) | Q(applied=True)),
                name="engagements_importrun_digest_imported_once",
            )
        ]

    def __str__(self) -> str:
        return f"Import {self.public_id} ({self.mode}, {self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, self.bytes_done * 100 // self.size) if self.size else 0

    @property
    def waiting(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
