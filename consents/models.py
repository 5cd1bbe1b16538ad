"""The consent ledger: each planned use of a consultant's words, story, image or name.

A request says what would be used, for what, before whom, for how long and under
which name; the consultant grants or refuses it, and may revoke a grant later.
Nothing here is edited or deleted: a request's standing is its latest event.
Nothing here holds or shows a legal name: attribution is a pseudonym, the display
name the consultant chose, or nobody's name.
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.append_only import AppendOnlyModel
from engagements.models import Contribution, Engagement

PURPOSE_MAX = 300
PUBLICATION_MAX = 200
NOTE_MAX = 1000
HONORARIA_MAX = 10  # honoraria one use can carry
LATEST_END = date(2100, 12, 31)


class Use(models.TextChoices):
    WORDS = "words", _("Words or a quote")
    STORY = "story", _("Story")
    IMAGE = "image", _("Image or voice")
    NAME = "name", _("Name")


class Audience(models.TextChoices):
    PUBLIC_REPORT = "public_report", _("A public report")
    CONFERENCE = "conference", _("A conference")
    TRAINING = "training", _("Training")
    FUNDERS = "funders", _("Funders")
    INTERNAL = "internal", _("The study team only")


class Duration(models.TextChoices):
    UNTIL = "until", _("Until a date")
    PUBLICATION = "publication", _("For the life of one publication")


class Attribution(models.TextChoices):
    PSEUDONYM = "pseudonym", _("Pseudonym")
    DISPLAY_NAME = "display_name", _("The name they chose")
    ANONYMOUS = "anonymous", _("Anonymous")


class Standing(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")
    REVOKED = "revoked", _("Revoked")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentRequest(AppendOnlyModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.PROTECT, related_name="consent_requests"
    )
    use = models.CharField(_("what would be used"), max_length=16, choices=Use.choices)
    purpose = models.CharField(
        _("purpose"),
        max_length=PURPOSE_MAX,
        help_text=_("For example: a quote in the final report."),
    )
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    duration = models.CharField(_("how long"), max_length=16, choices=Duration.choices)
    until = models.DateField(_("until"), null=True, blank=True)
    publication = models.CharField(_("publication"), max_length=PUBLICATION_MAX, blank=True)
    attribution = models.CharField(_("name used"), max_length=16, choices=Attribution.choices)
    honoraria = models.PositiveSmallIntegerField(
        _("honoraria"),
        default=0,
        validators=[MaxValueValidator(HONORARIA_MAX)],
        help_text=_("How many honoraria, at the engagement's honorarium rate, the use carries."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="consent_honoraria_bounded",
                condition=Q(honoraria__gte=0) & Q(honoraria__lte=HONORARIA_MAX),
            ),
            models.CheckConstraint(name="consent_purpose_given", condition=~Q(purpose="")),
            models.CheckConstraint(
                name="consent_duration_shape",
                condition=(
                    Q(duration="until", until__isnull=False, publication="")
                    & Q(until__lte=LATEST_END)
                )
                | (Q(duration="publication", until__isnull=True) & ~Q(publication="")),
            ),
        ]

    def __str__(self):
        return f"{self.get_use_display()}: {self.purpose}"


class ConsentEvent(AppendOnlyModel):
    class Kind(models.TextChoices):
        GRANTED = "granted", _("granted")
        REFUSED = "refused", _("refused")
        REVOKED = "revoked", _("revoked")
        WITHDRAWN = "withdrawn", _("withdrawn")

    request = models.ForeignKey(ConsentRequest, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)
    # The honorarium a grant created (a grant with honoraria only).
    contribution = models.ForeignKey(
        Contribution, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # Each answer happens once: a request is granted, refused, revoked or
            # withdrawn at most once, whatever races the services lose.
            models.UniqueConstraint(fields=["request", "kind"], name="consent_event_once"),
            models.CheckConstraint(
                name="consent_event_contribution_on_grant",
                condition=Q(contribution__isnull=True) | Q(kind="granted"),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"
