"""Accepted first agreements for many engagements at once (demo --scale, bench seeds).

Rows written by ``bulk_create``, not per-row services: each engagement gets version 1
from its terms as they are now, accepted in the portal (or on paper by ``by`` for a
consultant without an account, with ``witness`` named).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils import timezone, translation

from agreements.models import AgreementAcceptance, AgreementVersion
from agreements.terms import agreement_text, contact_terms, current_terms
from engagements.models import Engagement, Rate

if TYPE_CHECKING:
    from accounts.models import User


def accepted_first_versions(
    engagements: Iterable[Engagement],
    *,
    by: User | None,
    witness: str = "Seeded",
    batch_size: int = 500,
) -> int:
    """Issue and accept version 1 for each engagement that has no version yet."""
    ids = [e.pk for e in engagements]
    todo = list(
        Engagement.objects.filter(pk__in=ids, agreement_versions__isnull=True)
        .select_related("consultant", "phase__study", "rate_card")
        .order_by("pk")
    )
    if not todo:
        return 0
    rates: dict[int, list[Rate]] = {}
    for rate in Rate.objects.filter(rate_card_id__in={e.rate_card_id for e in todo}).order_by("id"):
        rates.setdefault(rate.rate_card_id, []).append(rate)
    contact = contact_terms(by) if by is not None and by.is_staff_member else None
    now = timezone.now()
    versions = []
    texts: dict[tuple, str] = {}
    for e in todo:
        terms = current_terms(e, contact=contact, rates=rates.get(e.rate_card_id, []))
        language = e.consultant.preferred_language
        key = (language, repr(sorted((k, repr(v)) for k, v in terms.items())))
        if key not in texts:
            with translation.override(language):
                texts[key] = agreement_text(terms, number=1)
        versions.append(
            AgreementVersion(
                engagement=e,
                number=1,
                issued_at=now,
                issued_by=by,
                reason=AgreementVersion.Reason.FIRST,
                terms=terms,
                language=language,
                text=texts[key],
            )
        )
    AgreementVersion.objects.bulk_create(versions, batch_size=batch_size)
    created = {
        v.engagement_id: v for v in AgreementVersion.objects.filter(engagement__in=todo, number=1)
    }
    acceptances = []
    for e in todo:
        user_id = e.consultant.user_id
        acceptances.append(
            AgreementAcceptance(
                version=created[e.pk],
                how=AgreementAcceptance.How.PORTAL if user_id else AgreementAcceptance.How.PAPER,
                accepted_by_id=user_id or (by.pk if by is not None else None),
                witnessed_by="" if user_id else witness,
                accepted_at=now,
            )
        )
    AgreementAcceptance.objects.bulk_create(acceptances, batch_size=batch_size)
    return len(todo)
