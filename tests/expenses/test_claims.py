"""Reimbursement claims: files stored without metadata, mileage, limits, not taxable."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from PIL.ExifTags import IFD

from core.errors import NotAllowed, ValidationFailed
from core.storage import MAGIC
from engagements.models import Contribution
from expenses.models import Claim, ClaimFile
from expenses.services import claim_create
from payments import preflight
from tests.expenses.support import (
    jpeg_with_gps,
    pdf_with_metadata,
    plain_jpeg,
    png_with_text,
    raw_bytes,
    stored_bytes,
)

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 12)


def _claim(engagement, consultant, **kwargs):
    values = {"category": "transport", "date": DAY, "amount": "18.50", "files": []}
    values.update(kwargs)
    return claim_create(engagement=engagement, by=consultant.user, **values)


def test_a_photo_with_gps_is_stored_without_any_exif(engagement, consultant):
    claim = _claim(engagement, consultant, files=[jpeg_with_gps()])

    stored = claim.files.get()
    assert raw_bytes(stored.file).startswith(MAGIC)  # encrypted at rest
    data = stored_bytes(stored.file)
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert len(exif) == 0
        assert not exif.get_ifd(IFD.GPSInfo)
        assert "exif" not in image.info and "comment" not in image.info
        assert "icc_profile" not in image.info
        # Turned upright from the orientation the phone recorded (64x48 rotated).
        assert image.size == (48, 64)
    assert b"Rivera" not in data and b"PhoneMaker" not in data and b"home address" not in data
    assert stored.kind == "jpg" and stored.size == len(data)
    assert not stored.file.name.endswith("IMG_0001.jpg")  # never the phone's name


def test_png_text_chunks_are_dropped(engagement, consultant):
    claim = _claim(engagement, consultant, files=[png_with_text()])
    data = stored_bytes(claim.files.get().file)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert not getattr(image, "text", {})
    assert b"Rivera" not in data and b"Elm Street" not in data and b"tEXt" not in data


def test_pdf_metadata_is_dropped(engagement, consultant):
    claim = _claim(engagement, consultant, files=[pdf_with_metadata()])
    data = stored_bytes(claim.files.get().file)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert not reader.metadata
    assert reader.xmp_metadata is None
    assert b"Rivera" not in data and b"Scanner 9" not in data


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("x.jpg", b"GIF89a not a receipt"), "none of those"),
        (SimpleUploadedFile("x.jpg", b"\xff\xd8\xff\xe0 broken jpeg"), "could not be read"),
        (SimpleUploadedFile("x.pdf", b"%PDF-1.4 nothing else"), "could not be read"),
        (SimpleUploadedFile("x.png", b""), "empty"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_stored(engagement, consultant, upload, message):
    with pytest.raises(ValidationFailed) as caught:
        _claim(engagement, consultant, files=[plain_jpeg(), upload])
    assert message in caught.value.message and caught.value.field == "files"
    assert not Contribution.objects.exists() and not ClaimFile.objects.exists()
    assert not default_storage.exists("claims") or not any(
        default_storage.listdir("claims")[0] + default_storage.listdir("claims")[1]
    )


def test_too_many_files_are_refused(engagement, consultant):
    with pytest.raises(ValidationFailed, match="at most 10 files"):
        _claim(engagement, consultant, files=[plain_jpeg() for _ in range(11)])
    assert not Claim.objects.exists()


def test_a_file_too_large_is_refused(engagement, consultant, settings):
    settings.MAX_RECEIPT_UPLOAD_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * 2000)
    with pytest.raises(ValidationFailed, match=r"at most 1\.0"):
        _claim(engagement, consultant, files=[big])
    assert not Claim.objects.exists()


def test_mileage_is_the_distance_at_the_configured_rate(engagement, consultant, settings):
    settings.MILEAGE_RATE = Decimal("0.655")
    claim = _claim(engagement, consultant, category="mileage", amount=None, distance="23.4")
    c = claim.contribution
    assert c.kind == "reimbursement" and c.status == "submitted"
    assert c.claimed_amount == Decimal("15.33")  # 23.4 * 0.655 = 15.327
    assert claim.distance == Decimal("23.4") and claim.mileage_rate == Decimal("0.655")
    assert c.logged_by == consultant.user


@pytest.mark.parametrize("distance", ["0", "-3", "2000.1", "1e9", "12.34", "abc"])
def test_a_distance_out_of_bounds_is_refused(engagement, consultant, distance):
    with pytest.raises(ValidationFailed) as caught:
        _claim(engagement, consultant, category="mileage", amount=None, distance=distance)
    assert caught.value.field == "distance"
    assert not Contribution.objects.exists()


@pytest.mark.parametrize("amount", ["0", "10000.01", "1.234", "NaN", ""])
def test_an_amount_out_of_bounds_is_refused(engagement, consultant, amount):
    with pytest.raises(ValidationFailed) as caught:
        _claim(engagement, consultant, amount=amount)
    assert caught.value.field == "amount"


def test_a_consultant_cannot_claim_on_anothers_engagement(outsider_engagement, consultant):
    with pytest.raises(NotAllowed):
        _claim(outsider_engagement, consultant)


def test_a_reimbursement_stays_out_of_reportable_totals(
    engagement, consultant, coordinator, coordinator2
):
    from engagements.services.reviews import contribution_approve
    from payments.models import PaymentItem

    claim = _claim(engagement, consultant, files=[plain_jpeg()])
    approved = contribution_approve(contribution=claim.contribution, by=coordinator2)
    item = PaymentItem(contribution=approved, amount=approved.amount)
    assert approved.amount == Decimal("18.50")
    assert preflight.reportable([item]) == Decimal("0.00")
