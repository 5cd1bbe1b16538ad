"""Reads the staff page, the public pages and the API share."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet

from engagements.models import Study
from transparency.models import Publication


def publications_public() -> QuerySet[Publication]:
    """Every published report: public by being published, newest first."""
    return Publication.objects.select_related("study").order_by("-published_at", "-id")


def publications_of(study: Study) -> QuerySet[Publication]:
    return Publication.objects.filter(study=study).order_by("-published_at", "-id")


def studies_published() -> list[tuple[Study, list[Publication]]]:
    """Each study with a publication, with its reports newest first."""
    grouped: dict[int, tuple[Study, list[Publication]]] = {}
    for p in publications_public():
        grouped.setdefault(p.study_id, (p.study, []))[1].append(p)
    return sorted(grouped.values(), key=lambda sp: sp[0].name)


def document_of(publication: Publication) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(publication.document)
    return parsed
