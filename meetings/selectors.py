"""Reads that the pages and the API share: who sees which session and invitation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from meetings.models import Invitation, Session

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from consultants.models import Consultant


def sessions_visible_to(user: User | AnonymousUser) -> QuerySet[Session]:
    """Coordinators and admins see every session; nobody else sees them here."""
    if not user.is_authenticated:
        return Session.objects.none()
    if user.is_superuser or user.has_role("coordinator", "admin"):
        return Session.objects.select_related("phase__study")
    return Session.objects.none()


def invitations_visible_to(user: User | AnonymousUser) -> QuerySet[Invitation]:
    """A consultant's own invitations; coordinators and admins see all of them."""
    base = Invitation.objects.select_related(
        "session__phase__study", "engagement__consultant", "contribution"
    )
    if not user.is_authenticated:
        return base.none()
    if user.is_superuser or user.has_role("coordinator", "admin"):
        return base
    consultant = getattr(user, "consultant", None)
    if consultant is None:
        return base.none()
    return base.filter(engagement__consultant=consultant)


def _upcoming_q(now: datetime) -> Q:
    today = timezone.localdate(now)
    return Q(session__ends_at__gt=now) | Q(session__closes_on__gte=today)


def consultant_invitations(
    consultant: Consultant, *, now: datetime | None = None
) -> tuple[list[Invitation], list[Invitation]]:
    """(upcoming, past) invitations of ``consultant``, soonest first and latest first."""
    now = now or timezone.now()
    rows = Invitation.objects.filter(engagement__consultant=consultant).select_related(
        "session__phase__study"
    )
    upcoming = list(
        rows.filter(_upcoming_q(now)).order_by("session__starts_at", "session__opens_on", "id")
    )
    past = list(
        rows.exclude(_upcoming_q(now)).order_by("-session__ends_at", "-session__closes_on", "-id")[
            :50
        ]
    )
    return upcoming, past


def next_invitation(consultant: Consultant, *, now: datetime | None = None) -> Invitation | None:
    """The next scheduled session the consultant has not declined (the home page's line)."""
    now = now or timezone.now()
    return (
        Invitation.objects.filter(
            _upcoming_q(now),
            engagement__consultant=consultant,
            status=Invitation.Status.INVITED,
            session__status=Session.Status.SCHEDULED,
        )
        .select_related("session")
        .order_by("session__starts_at", "session__opens_on", "id")
        .first()
    )
