"""A published report of the standing study, for tests/test_url_access.py."""

from __future__ import annotations

from django.utils import timezone


def publication(records):
    from tests.factories import UserFactory
    from transparency.models import Publication
    from transparency.services import preview_hash, publication_publish

    study = records["study"]
    found = Publication.objects.filter(study=study).first()
    if found:
        return found
    end = timezone.localdate()
    return publication_publish(
        study=study,
        period_end=end,
        by=UserFactory(roles=["coordinator"]),
        reason="Informe",
        previewed=preview_hash(study=study, period_end=end),
    )
