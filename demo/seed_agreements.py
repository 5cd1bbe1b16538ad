"""The demo's engagement agreements.

Every demo engagement gets version 1 of its agreement, issued by a coordinator and
accepted (in the portal by consultants with an account, on paper with a witness by
the others), except one of River's (consultant@example.org): the engagement of
theirs with the least approved work keeps its version waiting, so the README walk
shows River accepting it and finance sees the pre-flight hold meanwhile.
"""

from __future__ import annotations

from django.db.models import Sum
from django.utils import timezone

from agreements.bulk import accepted_first_versions
from agreements.services import agreement_accept, agreement_issue, agreement_record_paper
from engagements.models import Contribution, Engagement, Study

RIVER = "consultant@example.org"
WITNESS = "Dana (peer support worker)"


def seed_agreements(*, study: Study, coordinator, coordinator2) -> Engagement | None:
    """Issue and accept the demo's agreements; the River engagement left waiting."""
    engagements = list(
        Engagement.objects.filter(phase__study=study)
        .select_related("consultant__user")
        .order_by("pk")
    )
    waiting = _rivers_smallest(engagements)
    today = timezone.localdate()
    for engagement in engagements:
        version = agreement_issue(engagement=engagement, by=coordinator)
        if engagement == waiting:
            continue
        user = engagement.consultant.user
        if user is not None:
            agreement_accept(version=version, by=user)
        else:
            agreement_record_paper(
                version=version, by=coordinator2, witnessed_by=WITNESS, accepted_on=today
            )
    return waiting


def _rivers_smallest(engagements: list[Engagement]) -> Engagement | None:
    rivers = [e for e in engagements if e.consultant.user and e.consultant.user.email == RIVER]
    if not rivers:
        return None
    approved = dict(
        Contribution.objects.filter(engagement__in=rivers, status=Contribution.Status.APPROVED)
        .values("engagement_id")
        .order_by()
        .annotate(total=Sum("amount"))
        .values_list("engagement_id", "total")
    )
    return min(rivers, key=lambda e: (approved.get(e.pk) or 0, e.pk))


def seed_scale_agreements(engagements, *, coordinator) -> int:
    """``--scale`` engagements: version 1 accepted, written in bulk."""
    return accepted_first_versions(engagements, by=coordinator, witness=WITNESS)
