"""The demo's reimbursement and advance, through the public services.

River (consultant@example.org) has an advance for travel to an upcoming session,
granted by one coordinator and approved by the other, so it waits in finance's
next batch; and one reimbursement claim with a receipt photo, waiting for approval.
The photo is generated here, so it carries no metadata to begin with (and is
re-made without any on the way in, like every upload).
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from engagements.models import Engagement
from engagements.services.reviews import contribution_approve
from expenses.services import advance_grant, claim_create


def _receipt_photo() -> SimpleUploadedFile:
    image = Image.new("RGB", (360, 480), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    for line, text in enumerate(("CITY TRANSIT", "Day pass", "TOTAL  $6.50")):
        draw.text((40, 60 + line * 40), text, fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return SimpleUploadedFile("receipt.jpg", out.getvalue(), content_type="image/jpeg")


def seed_expenses(users) -> None:
    river = users["consultant@example.org"]
    engagement = (
        Engagement.objects.filter(consultant__user=river, status=Engagement.Status.ACTIVE)
        .order_by("id")
        .first()
    )
    if engagement is None:
        return
    today = timezone.localdate()
    advance = advance_grant(
        engagement=engagement,
        by=users["coordinator@example.org"],
        purpose="Train and taxi to the advisory meeting",
        planned_for=today + timedelta(days=12),
        amount="85.00",
    )
    contribution_approve(contribution=advance.contribution, by=users["coordinator2@example.org"])
    claim_create(
        engagement=engagement,
        by=river,
        category="transport",
        date=today - timedelta(days=2),
        amount="6.50",
        description="Bus day pass for the instrument review",
        files=[_receipt_photo()],
    )
