"""Published transparency reports: dated, immutable snapshots with their hash."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel
from core.history import HistoryActionMixin
from engagements.models import Study

REASON_MAX = 500


class Publication(AppendOnlyModel):
    """One published report. Never changed: a new report is a new row.

    ``document`` is the canonical JSON exactly as hashed and downloaded
    (``transparency.report.canonical``); kept as text, not JSON, so the bytes stay
    the bytes that were hashed.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="publications")
    # The report covers payments made from period_start (the day after the study's
    # previous report ended; empty for its first report) to period_end: reports never
    # overlap, so comparing two of them reveals nothing either hides.
    period_start = models.DateField(_("figures from"), null=True, blank=True)
    period_end = models.DateField(_("figures up to"))
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), max_length=REASON_MAX)
    document = models.TextField()
    sha256 = models.CharField(max_length=64)
    method_version = models.PositiveSmallIntegerField()

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(name="publication_reason_given", condition=~Q(reason="")),
            models.CheckConstraint(
                name="publication_period_in_order",
                condition=Q(period_start__isnull=True) | Q(period_start__lte=F("period_end")),
            ),
            models.UniqueConstraint(
                fields=["study", "period_end"], name="publication_one_per_end_date"
            ),
        ]

    def __str__(self):
        return f"{self.study} {self.period_end:%Y-%m-%d}"
