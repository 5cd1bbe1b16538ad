"""Engagement agreements: each version as issued, and its acceptance.

A version is the plain-language agreement for one engagement as it stood when it
was issued (its ``terms`` snapshot and its ``text`` in the consultant's language).
A changed rate or payout method makes a new version. Versions and acceptances are
never edited or deleted (``core.append_only``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.append_only import AppendOnlyModel
from engagements.models import Engagement

# Bounds on what a person types.
MAX_VERSIONS = 1000
WITNESS_MAX = 120
NOTE_MAX = 500


class AgreementVersion(AppendOnlyModel):
    class Reason(models.TextChoices):
        FIRST = "first", _("First agreement")
        RATE_CHANGED = "rate_changed", _("A rate changed")
        METHOD_CHANGED = "method_changed", _("The payment method changed")
        TERMS_CHANGED = "terms_changed", _("The terms changed")
        REISSUED = "reissued", _("Issued again by a coordinator")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.PROTECT, related_name="agreement_versions"
    )
    number = models.PositiveIntegerField(_("version"))
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("why this version"), max_length=16, choices=Reason.choices)
    terms = models.JSONField(_("terms"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    text = models.TextField(_("agreement text"))

    class Meta:
        ordering = ["engagement", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "number"], name="agreement_version_unique_number"
            ),
            models.CheckConstraint(
                name="agreement_version_number_range",
                condition=Q(number__gte=1, number__lte=MAX_VERSIONS),
            ),
            models.CheckConstraint(name="agreement_version_text", condition=~Q(text="")),
        ]

    def __str__(self):
        return f"Agreement v{self.number} of engagement {self.engagement_id}"


class AgreementAcceptance(AppendOnlyModel):
    class How(models.TextChoices):
        PORTAL = "portal", _("In the portal")
        PAPER = "paper", _("On paper")

    version = models.OneToOneField(
        AgreementVersion, on_delete=models.PROTECT, related_name="acceptance"
    )
    how = models.CharField(_("how"), max_length=8, choices=How.choices)
    # The consultant's user (portal), or the coordinator who recorded a paper one.
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    witnessed_by = models.CharField(_("witnessed by"), max_length=WITNESS_MAX, blank=True)
    accepted_at = models.DateTimeField(_("accepted"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)

    class Meta:
        ordering = ["accepted_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="agreement_paper_has_witness",
                condition=Q(how="portal", witnessed_by="") | (Q(how="paper") & ~Q(witnessed_by="")),
            ),
        ]

    def __str__(self):
        return f"Acceptance of {self.version} ({self.how})"
