"""The demo's consent ledger: a request waiting for River, and one Sol granted."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from consents.services import consent_grant, consent_request
from engagements.models import Engagement, Study


def seed_consents(*, study: Study, coordinator) -> None:
    def engagement_of(email: str) -> Engagement | None:
        return (
            Engagement.objects.filter(
                phase__study=study,
                consultant__user__email=email,
                status=Engagement.Status.ACTIVE,
            )
            .order_by("phase__position", "id")
            .first()
        )

    river = engagement_of("consultant@example.org")
    if river is not None:
        consent_request(
            engagement=river,
            by=coordinator,
            use="words",
            purpose="A quote in the final report",
            audience="public_report",
            duration="publication",
            publication="The study's final report",
            attribution="pseudonym",
            honoraria=1,
        )
    sol = engagement_of("consultant2@example.org")
    if sol is not None:
        granted = consent_request(
            engagement=sol,
            by=coordinator,
            use="story",
            purpose="A story told in the training for new interviewers",
            audience="training",
            duration="until",
            until=timezone.localdate() + timedelta(days=365 * 2),
            attribution="anonymous",
            honoraria=1,
        )
        consent_grant(request=granted, by=sol.consultant.user)
