"""Reads about consultants that pages and the API share."""

from __future__ import annotations

from django.db.models import QuerySet

from consultants.models import Consultant


def consultants_visible_to(user) -> QuerySet[Consultant]:
    """Staff see every consultant; a consultant sees only themselves."""
    if not user.is_authenticated:
        return Consultant.objects.none()
    if user.is_staff_member and user.has_perm("consultants.view_consultant"):
        return Consultant.objects.all()
    return Consultant.objects.filter(user=user)


def mask_taxpayer_id(last4: str) -> str:
    return f"•••-••-{last4}" if last4 else "—"
