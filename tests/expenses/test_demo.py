"""The demo seeds River's advance (approved, waiting for the next batch) and a claim."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from PIL import Image

from expenses.models import Advance, Claim
from payments.services.batches import batch_build
from tests.expenses.support import stored_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_the_demo_has_an_approved_advance_and_a_claim_for_river(debug):
    from django.utils import timezone

    from accounts.models import User

    call_command("seed_demo", stdout=io.StringIO())
    advance = Advance.objects.get()
    assert advance.engagement.consultant.user.email == "consultant@example.org"
    assert advance.contribution.status == "approved"
    assert advance.granted_by.email == "coordinator@example.org"
    assert advance.contribution.approved_by.email == "coordinator2@example.org"
    assert advance.planned_for > timezone.localdate()
    claim = Claim.objects.get()
    assert claim.contribution.status == "submitted"
    with Image.open(io.BytesIO(stored_bytes(claim.files.get().file))) as image:
        assert len(image.getexif()) == 0
    # Finance's next batch takes it.
    finance = User.objects.get(email="finance@example.org")
    batch = batch_build(by=finance, cutoff_date=timezone.localdate())
    assert batch.payments.filter(items__contribution=advance.contribution).exists()
