"""The demo publishes one report for its study, with real figures and hidden cells."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_the_demo_publishes_a_report_with_figures_and_hidden_cells(settings):
    from demo.data import seed_demo
    from transparency.models import Publication

    result = seed_demo()
    publication = Publication.objects.get()
    assert publication.study == result.study
    doc = json.loads(publication.document)
    figures = [
        r["paid"] for table in ("by_phase", "by_activity", "by_method") for r in doc[table]["rows"]
    ]
    assert doc["summary"]["paid"]["suppressed"] is None
    assert any(f["suppressed"] is None and f["value"] not in (None, "0.00") for f in figures)
    assert any(f["suppressed"] for f in figures)
