"""Claims and advances over the API: multipart uploads, roles and ownership."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image

from engagements.models import Contribution
from engagements.services.reviews import contribution_approve
from expenses.models import ClaimFile
from tests.api.conftest import client_for
from tests.expenses import records
from tests.expenses.support import jpeg_with_gps, plain_jpeg, stored_bytes

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")


@pytest.fixture
def api(consultant, outsider, coordinator, coordinator2, finance, admin_user):
    from tests.factories import EngagementFactory

    EngagementFactory(consultant=outsider)  # the outsider has work of their own
    return {
        "anonymous": client_for(None),
        "consultant": client_for(consultant.user),
        "outsider": client_for(outsider.user),
        "coordinator": client_for(coordinator),
        "coordinator2": client_for(coordinator2),
        "finance": client_for(finance),
        "admin": client_for(admin_user),
    }


@pytest.fixture
def rec(engagement, consultant):
    return {"engagement": engagement, "consultant": consultant}


def _claim_body(engagement, **overrides):
    body = {
        "engagement": str(engagement.public_id),
        "category": "childcare",
        "date": timezone.localdate().isoformat(),
        "amount": "25.00",
        "description": "Sitter during the session",
        "files": [jpeg_with_gps(), plain_jpeg()],
    }
    body.update(overrides)
    return body


def test_a_consultant_creates_a_claim_with_files(api, engagement, consultant):
    response = api["consultant"].post(
        "/api/v1/claims/", _claim_body(engagement), format="multipart"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["category"] == "childcare" and data["status"] == "submitted"
    assert data["claimed_amount"] == "25.00" and len(data["files"]) == 2
    stored = ClaimFile.objects.get(public_id=data["files"][0]["public_id"])
    with Image.open(io.BytesIO(stored_bytes(stored.file))) as image:
        assert len(image.getexif()) == 0
    assert Contribution.objects.get().logged_by == consultant.user


def test_a_bad_file_is_a_400_naming_files_and_nothing_is_kept(api, engagement):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.gif", b"GIF89a")
    response = api["consultant"].post(
        "/api/v1/claims/", _claim_body(engagement, files=[bad]), format="multipart"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "fields"}
    assert "files" in response.json()["fields"]
    assert not Contribution.objects.exists()


def test_mileage_over_the_api(api, engagement, settings):
    settings.MILEAGE_RATE = Decimal("0.50")
    body = _claim_body(engagement, category="mileage", distance="31.5", files=[])
    del body["amount"]  # mileage has no amount spent: the distance prices it
    response = api["consultant"].post("/api/v1/claims/", body, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["claimed_amount"] == "15.75"


@pytest.mark.parametrize("role", ["outsider", "coordinator"])
def test_nobody_claims_on_anothers_engagement(api, engagement, role):
    response = api[role].post("/api/v1/claims/", _claim_body(engagement), format="multipart")
    if role == "outsider":
        assert response.status_code == 404  # another's engagement names nothing
    else:
        # A coordinator may log on any engagement (as for contributions).
        assert response.status_code == 201
    assert Contribution.objects.count() == (1 if role == "coordinator" else 0)


@pytest.mark.parametrize("role", ROLES)
def test_claim_and_advance_reads_by_role(api, rec, role):
    claim = records.claim_file(rec).claim
    advance = records.advance(rec)
    expected_list = {"anonymous": 401}.get(role, 200)
    own = {"anonymous": 401, "outsider": 404}.get(role, 200)
    for path, obj in (("claims", claim), ("advances", advance)):
        listing = api[role].get(f"/api/v1/{path}/")
        assert listing.status_code == expected_list
        if expected_list == 200:
            ids = [r["public_id"] for r in listing.json()["results"]]
            assert ids == ([] if role == "outsider" else [str(obj.public_id)])
        detail = api[role].get(f"/api/v1/{path}/{obj.public_id}/")
        assert detail.status_code == own


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("consultant", 403),
        ("outsider", 403),
        ("coordinator", 201),
        ("finance", 403),
        ("admin", 403),
    ],
)
def test_only_a_coordinator_grants_an_advance(api, engagement, role, expected):
    body = {
        "engagement": str(engagement.public_id),
        "purpose": "Train",
        "planned_for": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "amount": "40.00",
    }
    response = api[role].post("/api/v1/advances/", body, format="json")
    if role in ("consultant", "outsider") and response.status_code == 400:
        # A consultant does not even see the engagement to grant on (the outsider).
        assert "engagement" in response.json()["fields"]
    else:
        assert response.status_code == expected, response.content
    if expected == 201:
        data = response.json()
        assert data["standing"] == "granted" and data["amount"] == "40.00"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("consultant", 201),
        ("outsider", 404),
        ("coordinator", 201),
        ("finance", 403),
        ("admin", 403),
    ],
)
def test_who_adds_receipts_to_an_advance(api, rec, role, expected):
    advance = records.advance(rec)
    response = api[role].post(
        f"/api/v1/advances/{advance.public_id}/receipts/",
        {"amount": "12.00", "file": jpeg_with_gps()},
        format="multipart",
    )
    assert response.status_code == expected, response.content
    if expected == 201:
        assert response.json()["receipts"][0]["amount"] == "12.00"


def test_settle_over_the_api_is_409_before_payment_and_role_checked(api, rec):
    advance = records.advance(rec)
    assert (
        api["consultant"]
        .post(f"/api/v1/advances/{advance.public_id}/settle/", {}, format="json")
        .status_code
        == 403
    )
    assert (
        api["outsider"]
        .post(f"/api/v1/advances/{advance.public_id}/settle/", {}, format="json")
        .status_code
        == 404
    )
    response = api["coordinator"].post(
        f"/api/v1/advances/{advance.public_id}/settle/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_paid"


def test_settle_twice_over_the_api_is_409(api, rec, coordinator2, finance, finance2):
    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual

    advance = records.advance(rec)
    contribution_approve(contribution=advance.contribution, by=coordinator2)
    batch = batch_build(
        by=finance, cutoff_date=timezone.localdate(), only=[advance.contribution], pay_by="check"
    )
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    payment_record_manual(
        payment=batch.payments.get(), by=finance, reference="9", handed_over_on=timezone.localdate()
    )
    api["consultant"].post(
        f"/api/v1/advances/{advance.public_id}/receipts/",
        {"amount": "10.00", "file": plain_jpeg()},
        format="multipart",
    )
    url = f"/api/v1/advances/{advance.public_id}/settle/"
    first = api["coordinator2"].post(url, {"note": "Cheaper bus"}, format="json")
    assert first.status_code == 200, first.content
    settlement = first.json()["settlement"]
    assert settlement["outcome"] == "kept" and settlement["difference"] == "-20.00"
    second = api["coordinator2"].post(url, {}, format="json")
    assert second.status_code == 409
    assert second.json()["code"] == "already_settled"
