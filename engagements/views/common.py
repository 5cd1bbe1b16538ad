"""What the coordinator pages share: the page size, who coordinates, the engagements to log on."""

from __future__ import annotations

from accounts.roles import ADMIN, COORDINATOR
from engagements import selectors
from engagements.models import Engagement

PAGE_SIZE = 50


def coordinates(user) -> bool:
    return user.is_superuser or user.has_role(COORDINATOR, ADMIN)


def active_engagements(user, consultant=None):
    qs = selectors.engagements_visible_to(user).filter(status=Engagement.Status.ACTIVE)
    if consultant is not None:
        qs = qs.filter(consultant=consultant)
    return qs.order_by("consultant__display_name", "phase__study__name", "phase__position", "role")
