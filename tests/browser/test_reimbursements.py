"""A consultant on a 360 px phone claims a reimbursement with a photo of the receipt."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from engagements.models import Contribution
from expenses.models import ClaimFile
from tests.browser.conftest import assert_fits, sign_in_with_session
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _receipt_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 160), (240, 240, 230)).save(out, format="JPEG")
    return out.getvalue()


def test_a_consultant_claims_a_reimbursement_with_a_photo_from_a_phone(
    narrow_phone, live_server, client, consultant, a11y
):
    EngagementFactory(consultant=consultant)
    page = narrow_phone
    sign_in_with_session(page.context, client, consultant.user, live_server.url)
    page.goto(live_server.url + "/me/")
    page.get_by_role("link", name="Claim a reimbursement").click()
    page.wait_for_url("**/me/reimbursements/new/")
    a11y.check(page)
    assert_fits(page)

    page.get_by_label("Transport (bus, train, taxi, parking)").check()
    page.get_by_label("Amount spent").fill("8.40")
    page.get_by_label("What it was for (optional)").fill("Bus to the advisory meeting")
    page.get_by_label("Receipts").set_input_files(
        [{"name": "receipt.jpg", "mimeType": "image/jpeg", "buffer": _receipt_photo()}]
    )
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url("**/me/contributions/*/")
    a11y.check(page)
    assert_fits(page)

    body = page.locator("main").inner_text()
    assert "Waiting for approval" in body
    assert "Download photo 1" in body
    c = Contribution.objects.get()
    assert c.status == "submitted" and str(c.claimed_amount) == "8.40"
    assert ClaimFile.objects.filter(claim__contribution=c).count() == 1
