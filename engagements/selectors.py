"""Reads about studies and contributions that pages and the API share."""

from __future__ import annotations

from django.db.models import QuerySet

from engagements.models import Contribution, Engagement


def engagements_visible_to(user) -> QuerySet[Engagement]:
    if not user.is_authenticated:
        return Engagement.objects.none()
    qs = Engagement.objects.select_related("consultant", "phase", "phase__study", "rate_card")
    if user.is_staff_member and user.has_perm("engagements.view_engagement"):
        return qs
    return qs.filter(consultant__user=user)


def contributions_visible_to(user) -> QuerySet[Contribution]:
    if not user.is_authenticated:
        return Contribution.objects.none()
    qs = Contribution.objects.select_related(
        "engagement", "engagement__consultant", "engagement__phase", "logged_by", "approved_by"
    )
    if user.is_staff_member and user.has_perm("engagements.view_contribution"):
        return qs
    return qs.filter(engagement__consultant__user=user)
