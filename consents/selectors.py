"""Reads of the consent ledger, for the pages and the API alike.

A request's standing is its latest event (pending while it has none). Staff who
coordinate see every request; a consultant sees only their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.roles import ADMIN, COORDINATOR
from consents.models import ConsentEvent, ConsentRequest, Standing

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def may_coordinate(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (user.has_role(COORDINATOR, ADMIN) or user.is_superuser)


def with_standing(qs: QuerySet[ConsentRequest]) -> QuerySet[ConsentRequest]:
    latest = ConsentEvent.objects.filter(request=OuterRef("pk")).order_by("-at", "-id")
    return qs.annotate(
        standing=Coalesce(Subquery(latest.values("kind")[:1]), Value(Standing.PENDING))
    )


def standing_of(request: ConsentRequest) -> str:
    """The standing of one request, read fresh from its events."""
    latest = request.events.order_by("-at", "-id").first()
    return latest.kind if latest else Standing.PENDING


def _base() -> QuerySet[ConsentRequest]:
    return with_standing(
        ConsentRequest.objects.select_related(
            "engagement", "engagement__consultant", "engagement__phase__study", "requested_by"
        )
    )


def consent_requests_visible_to(user: User | AnonymousUser) -> QuerySet[ConsentRequest]:
    # Even an empty answer carries the standing, so filtering by it works for anyone.
    if not user.is_authenticated:
        return _base().none()
    if may_coordinate(user):
        return _base()
    if getattr(user, "consultant", None) is not None:
        return _base().filter(engagement__consultant__user=user)
    return _base().none()


def ledger(study_id: int, *, standing: str = "") -> QuerySet[ConsentRequest]:
    """Every use requested in one study, newest first; optionally of one standing."""
    qs = _base().filter(engagement__phase__study_id=study_id)
    if standing:
        qs = qs.filter(Q(standing=standing))
    return qs.order_by("-requested_at", "-id")


def requests_of(consultant_id: int) -> QuerySet[ConsentRequest]:
    """A consultant's own requests: those waiting for an answer first."""
    return (
        _base()
        .filter(engagement__consultant_id=consultant_id)
        .annotate(
            waiting=Case(
                When(standing=Standing.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("waiting", "-requested_at", "-id")
    )


def pending_count(consultant_id: int) -> int:
    return (
        with_standing(ConsentRequest.objects.filter(engagement__consultant_id=consultant_id))
        .filter(Q(standing=Standing.PENDING))
        .count()
    )


def events_of(request: ConsentRequest) -> QuerySet[ConsentEvent]:
    return request.events.select_related("by", "contribution").order_by("at", "id")
