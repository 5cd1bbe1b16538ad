"""Sessions (advisory meetings, instrument review sessions, Delphi rounds) and invitations.

A session belongs to a study phase; consultants engaged in that phase are invited.
Attendance (or a completed round) creates the contribution through the engagements
services, so the entry is priced by the engagement's rate card like any other.
Delphi round results are not stored here: the round only links to its instrument.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel
from core.history import HistoryActionMixin
from engagements.models import Contribution, Engagement, Phase

QUANTITY = {"max_digits": 7, "decimal_places": 2}
MAX_PAY_HOURS = Decimal("12")
MAX_PAY_HONORARIA = Decimal("10")
MAX_SESSION_HOURS = 12
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
LOCATION_MAX = 200
URL_MAX = 500


class Session(models.Model):
    class Kind(models.TextChoices):
        ADVISORY_MEETING = "advisory_meeting", _("Advisory meeting")
        INSTRUMENT_REVIEW = "instrument_review", _("Instrument review session")
        DELPHI_ROUND = "delphi_round", _("Delphi round")

    class PayKind(models.TextChoices):
        HOURS = "hours", _("Hours")
        HONORARIUM = "honorarium", _("Honorarium")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    MEETING_KINDS = (Kind.ADVISORY_MEETING, Kind.INSTRUMENT_REVIEW)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="sessions")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(
        _("description"),
        max_length=DESCRIPTION_MAX,
        blank=True,
        help_text=_("Consultants read this. Keep it neutral."),
    )
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    opens_on = models.DateField(_("opens on"), null=True, blank=True)
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    instrument_url = models.URLField(_("link to the questionnaire"), max_length=URL_MAX, blank=True)
    location = models.CharField(_("where"), max_length=LOCATION_MAX, blank=True)
    online_url = models.URLField(_("link to join online"), max_length=URL_MAX, blank=True)
    pay_kind = models.CharField(_("paid as"), max_length=16, choices=PayKind.choices)
    pay_quantity = models.DecimalField(
        _("hours or honoraria paid"),
        help_text=_(
            "Hours in quarter hours (at most 12); honoraria as a whole count (at most 10)."
        ),
        validators=[MinValueValidator(Decimal("0.25")), MaxValueValidator(MAX_PAY_HOURS)],
        **QUANTITY,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True, max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                name="session_meeting_has_times",
                condition=~Q(kind__in=["advisory_meeting", "instrument_review"])
                | Q(
                    starts_at__isnull=False,
                    ends_at__isnull=False,
                    opens_on__isnull=True,
                    closes_on__isnull=True,
                    instrument_url="",
                ),
            ),
            models.CheckConstraint(
                name="session_round_has_dates",
                condition=~Q(kind="delphi_round")
                | Q(
                    starts_at__isnull=True,
                    ends_at__isnull=True,
                    opens_on__isnull=False,
                    closes_on__isnull=False,
                ),
            ),
            models.CheckConstraint(
                name="session_ends_after_start",
                condition=Q(starts_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
            ),
            models.CheckConstraint(
                name="session_closes_after_opening",
                condition=Q(opens_on__isnull=True) | Q(closes_on__gte=F("opens_on")),
            ),
            models.CheckConstraint(
                name="session_pay_hours_shape",
                condition=~Q(pay_kind="hours")
                | (
                    Q(pay_quantity__gt=0, pay_quantity__lte=MAX_PAY_HOURS)
                    & Exact(Mod(F("pay_quantity") * 100, 25), 0)
                ),
            ),
            models.CheckConstraint(
                name="session_pay_honoraria_shape",
                condition=~Q(pay_kind="honorarium")
                | (
                    Q(pay_quantity__gt=0, pay_quantity__lte=MAX_PAY_HONORARIA)
                    & Exact(Mod(F("pay_quantity") * 100, 100), 0)
                ),
            ),
            models.CheckConstraint(
                name="session_cancel_has_reason",
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_round(self) -> bool:
        return self.kind == self.Kind.DELPHI_ROUND


class Invitation(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        DECLINED = "declined", _("Declined")
        ATTENDED = "attended", _("Attended")
        COMPLETED = "completed", _("Completed")
        ABSENT = "absent", _("Absent")

    DONE_STATUSES = (Status.ATTENDED, Status.COMPLETED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="invitations")
    engagement = models.ForeignKey(
        Engagement, on_delete=models.PROTECT, related_name="session_invitations"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVITED)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contribution = models.OneToOneField(
        Contribution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="session_invitation",
    )

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["session", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "engagement"], name="invitation_one_per_engagement"
            ),
            models.CheckConstraint(
                name="invitation_done_has_contribution",
                condition=~Q(status__in=["attended", "completed"])
                | Q(contribution__isnull=False, recorded_by__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.session} · {self.engagement} ({self.get_status_display()})"


class Reminder(AppendOnlyModel):
    """One reminder for one invitation, recorded once whether or not it was sent.

    A reminder is sent only through the channel the consultant chose as safe;
    only e-mail exists today, so any other channel is recorded as not sent.
    Rows are never changed: the unique pair makes sending idempotent.
    """

    class Kind(models.TextChoices):
        DAY_BEFORE = "day_before", _("The day before")
        ROUND_OPEN = "round_open", _("The round opened")
        ROUND_CLOSING = "round_closing", _("Two days before the round closes")

    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent by e-mail")
        CHANNEL_NOT_AVAILABLE = (
            "channel_not_available",
            _("Not sent: that channel is not available yet"),
        )
        NO_CONTACT = "no_contact", _("Not sent: no way to reach them")

    invitation = models.ForeignKey(Invitation, on_delete=models.PROTECT, related_name="reminders")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(AppendOnlyModel.Meta):
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["invitation", "kind"], name="reminder_once_per_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_outcome_display()})"
