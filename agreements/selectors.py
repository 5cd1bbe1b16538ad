"""Reads of engagement agreements that pages and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from agreements.models import AgreementAcceptance, AgreementVersion
from engagements.models import Engagement

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def versions_visible_to(user: User | AnonymousUser) -> QuerySet[AgreementVersion]:
    """Staff who read engagements see every version; a consultant only their own."""
    if not user.is_authenticated:
        return AgreementVersion.objects.none()
    qs = AgreementVersion.objects.select_related(
        "engagement__consultant",
        "engagement__phase__study",
        "issued_by",
        "acceptance",
        "acceptance__accepted_by",
    )
    if user.is_staff_member and user.has_perm("engagements.view_engagement"):
        return qs
    return qs.filter(engagement__consultant__user=user)


def acceptance_of(version: AgreementVersion) -> AgreementAcceptance | None:
    try:
        return version.acceptance
    except AgreementAcceptance.DoesNotExist:
        return None


@dataclass
class Standing:
    """An engagement's latest agreement version and whether it is accepted."""

    engagement: Engagement
    version: AgreementVersion
    acceptance: AgreementAcceptance | None

    @property
    def waiting(self) -> bool:
        return self.acceptance is None


def latest_versions(engagements: QuerySet[Engagement]) -> list[Standing]:
    """Each engagement's latest version with its acceptance (engagements with none left out)."""
    latest: dict[int, AgreementVersion] = {}
    rows = (
        AgreementVersion.objects.filter(engagement__in=engagements)
        .select_related("engagement__phase__study", "acceptance")
        .order_by("engagement_id", "number")
    )
    for version in rows:
        latest[version.engagement_id] = version
    return [
        Standing(engagement=v.engagement, version=v, acceptance=acceptance_of(v))
        for v in sorted(latest.values(), key=lambda v: (-v.issued_at.timestamp(), v.pk))
    ]


def waiting_for(user: User | AnonymousUser) -> list[Standing]:
    """The consultant's engagements whose latest agreement waits for them."""
    if not user.is_authenticated:
        return []
    mine = Engagement.objects.filter(consultant__user=user)
    return [s for s in latest_versions(mine) if s.waiting]


def is_latest(version: AgreementVersion) -> bool:
    return not AgreementVersion.objects.filter(
        engagement_id=version.engagement_id, number__gt=version.number
    ).exists()
