"""The pages: a claim from the phone form, the files on both sides, ownership, advances."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from engagements.models import Contribution
from engagements.services.reviews import contribution_approve
from expenses.models import Advance, ClaimFile, Settlement
from payments.models import PayoutBatch
from tests.expenses import records
from tests.expenses.support import jpeg_with_gps, plain_jpeg
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db

NEW = "/me/reimbursements/new/"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _claim_data(engagement, **overrides):
    data = {
        "engagement": str(engagement.public_id),
        "date": timezone.localdate().isoformat(),
        "category": "transport",
        "amount": "14.20",
        "distance": "",
        "description": "Bus both ways",
        "files": [jpeg_with_gps(), plain_jpeg()],
    }
    data.update(overrides)
    return data


def test_the_url_is_the_one_the_task_names():
    assert reverse("portal:reimbursement_new") == NEW


def test_the_form_takes_several_photos_or_pdfs_without_forcing_the_camera(
    client, consultant, engagement
):
    client.force_login(consultant.user)
    html = client.get(NEW).content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'accept="image/*,application/pdf"' in html and " multiple" in html
    assert "capture" not in html
    # One engagement: no question about which.
    assert 'type="hidden" name="engagement"' in html


def test_a_claim_with_photos_arrives_for_approval_with_its_files(client, consultant, engagement):
    client.force_login(consultant.user)
    response = client.post(NEW, _claim_data(engagement))
    c = Contribution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:contribution", kwargs={"public_id": c.public_id})
    assert c.status == "submitted" and c.claimed_amount == Decimal("14.20")
    assert c.logged_by == consultant.user
    page = client.get(response["Location"])
    assert "Waiting for approval" in text(page)
    files = list(ClaimFile.objects.all())
    assert len(files) == 2
    for f in files:
        assert (
            reverse("expenses:claim_file", kwargs={"public_id": f.public_id})
            in page.content.decode()
        )
    download = client.get(reverse("expenses:claim_file", kwargs={"public_id": files[0].public_id}))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    with Image.open(io.BytesIO(_body(download))) as image:
        assert len(image.getexif()) == 0


def test_mileage_from_the_form(client, consultant, engagement, settings):
    settings.MILEAGE_RATE = Decimal("0.70")
    client.force_login(consultant.user)
    response = client.post(
        NEW, _claim_data(engagement, category="mileage", amount="", distance="10", files=[])
    )
    assert response.status_code == 302
    assert Contribution.objects.get().claimed_amount == Decimal("7.00")


def test_a_bad_file_shows_in_the_error_summary_and_nothing_is_kept(client, consultant, engagement):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(consultant.user)
    bad = SimpleUploadedFile("notes.txt", b"just some text")
    response = client.post(NEW, _claim_data(engagement, files=[plain_jpeg(), bad]))
    assert response.status_code == 400
    assert "data-error-summary" in response.content.decode()
    assert "none of those" in text(response)
    assert not Contribution.objects.exists() and not ClaimFile.objects.exists()


def test_a_missing_amount_is_an_error(client, consultant, engagement):
    client.force_login(consultant.user)
    response = client.post(NEW, _claim_data(engagement, amount="", files=[]))
    assert response.status_code == 400
    assert "Enter the amount spent." in text(response)


def test_staff_see_the_files_on_the_entry_page(client, consultant, engagement, coordinator):
    f = records.claim_file({"engagement": engagement, "consultant": consultant})
    client.force_login(coordinator)
    page = client.get(
        reverse(
            "engagements:contribution_detail", kwargs={"public_id": f.claim.contribution.public_id}
        )
    )
    assert (
        reverse("expenses:claim_file", kwargs={"public_id": f.public_id}) in page.content.decode()
    )
    assert (
        client.get(reverse("expenses:claim_file", kwargs={"public_id": f.public_id})).status_code
        == 200
    )


def test_another_consultant_cannot_see_the_claim_files_or_the_advance(
    client, consultant, engagement, outsider
):
    rec = {"engagement": engagement, "consultant": consultant}
    f = records.claim_file(rec)
    receipt = records.advance_receipt(rec)
    client.force_login(outsider.user)
    for url in (
        reverse("expenses:claim_file", kwargs={"public_id": f.public_id}),
        reverse("expenses:advance_receipt_file", kwargs={"public_id": receipt.public_id}),
        reverse("portal:advance", kwargs={"public_id": receipt.advance.public_id}),
        reverse("portal:contribution", kwargs={"public_id": f.claim.contribution.public_id}),
    ):
        assert client.get(url).status_code == 404, url
    listing = text(client.get(reverse("portal:reimbursements")))
    assert "Bus to the session" not in listing and "No claims yet." in listing


def test_the_consultant_adds_a_receipt_to_their_advance(client, consultant, engagement):
    a = records.advance({"engagement": engagement, "consultant": consultant})
    client.force_login(consultant.user)
    url = reverse("portal:advance", kwargs={"public_id": a.public_id})
    response = client.post(url, {"amount": "11.00", "description": "Bus", "file": jpeg_with_gps()})
    assert response.status_code == 302
    assert a.receipts.get().amount == Decimal("11.00")
    page = client.get(url)
    assert "Bus to the session" in text(page)
    listing = text(client.get(reverse("portal:reimbursements")))
    assert "Bus to the session" in listing


def test_staff_grant_then_another_approves_then_finance_pays_at_once_then_settle(
    client, engagement, coordinator, coordinator2, finance, settings
):
    client.force_login(coordinator)
    study = engagement.phase.study
    response = client.post(
        reverse("expenses:advance_grant", kwargs={"public_id": study.public_id}),
        {
            "engagement": str(engagement.public_id),
            "purpose": "Childcare on the day",
            "planned_for": timezone.localdate().isoformat(),
            "amount": "60.00",
        },
    )
    advance = Advance.objects.get()
    assert response.status_code == 302
    assert advance.contribution.status == "submitted"
    listing = client.get(reverse("expenses:advances") + f"?study={study.public_id}")
    assert "Childcare on the day" in text(listing)
    contribution_approve(contribution=advance.contribution, by=coordinator2)

    client.force_login(finance)
    url = reverse("expenses:advance", kwargs={"public_id": advance.public_id})
    assert "Pay at once" in text(client.get(url))
    response = client.post(url, {"action": "pay_now", "pay-method": "cash"})
    batch = PayoutBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("payments:batch", kwargs={"public_id": batch.public_id})
    assert batch.payments.get().method == "cash"

    client.force_login(coordinator)
    response = client.post(url, {"action": "settle", "settle-note": ""})
    assert response.status_code == 409  # not paid yet
    assert "not paid yet" in text(response)
    assert not Settlement.objects.exists()


def test_a_consultant_cannot_open_staff_advance_pages(client, consultant, engagement):
    a = records.advance({"engagement": engagement, "consultant": consultant})
    client.force_login(consultant.user)
    assert (
        client.get(reverse("expenses:advance", kwargs={"public_id": a.public_id})).status_code
        == 403
    )
    assert client.get(reverse("expenses:advances")).status_code == 403
