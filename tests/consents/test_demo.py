"""The demo seeds a request waiting for River and one Sol granted."""

from __future__ import annotations

import pytest

from consents.models import Standing
from consents.selectors import requests_of, standing_of
from consultants.models import Consultant

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_the_consent_ledger():
    from demo.data import seed_demo

    seed_demo()
    river = Consultant.objects.get(user__email="consultant@example.org")
    waiting = list(requests_of(river.pk))
    assert [r.purpose for r in waiting] == ["A quote in the final report"]
    assert standing_of(waiting[0]) == Standing.PENDING and waiting[0].honoraria == 1
    sol = Consultant.objects.get(user__email="consultant2@example.org")
    granted = list(requests_of(sol.pk))
    assert len(granted) == 1 and standing_of(granted[0]) == Standing.GRANTED
    assert granted[0].events.get().contribution.status == "submitted"
