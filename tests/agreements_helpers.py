"""Agreements for tests and seeds that need an engagement's work to be payable."""

from __future__ import annotations

from django.utils import timezone

from agreements.models import AgreementAcceptance, AgreementVersion


def accept_latest(engagement, *, by=None) -> AgreementAcceptance | None:
    """Accept the engagement's latest agreement version, as the consultant in the portal
    (written straight to the table: the fixture is not about who accepts)."""
    version = AgreementVersion.objects.filter(engagement=engagement).order_by("-number").first()
    if version is None or AgreementAcceptance.objects.filter(version=version).exists():
        return None
    return AgreementAcceptance.objects.create(
        version=version,
        how=AgreementAcceptance.How.PORTAL,
        accepted_by=by or engagement.consultant.user,
        accepted_at=timezone.now(),
    )


def accept_all(engagements) -> int:
    """``accept_latest`` for each engagement; how many were accepted now."""
    return sum(accept_latest(e) is not None for e in engagements)
