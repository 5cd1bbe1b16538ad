"""The consultant's own engagement agreements: read, accept, download."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404
from agreements import selectors
from agreements.documents import agreement_filename, agreement_pdf
from agreements.services import agreement_accept
from core.errors import DomainError
from core.files import bytes_download
from engagements.models import Engagement
from portal.views.page import portal_page


def _mine(request):
    return selectors.versions_visible_to(request.user).filter(
        engagement__consultant=request.consultant
    )


@portal_page
def my_agreements(request):
    """Each of my engagements' latest agreement, and whether it waits for me."""
    standings = selectors.latest_versions(Engagement.objects.filter(consultant=request.consultant))
    return render(request, "portal/agreements.html", {"standings": standings})


@portal_page
def agreement_detail(request, public_id):
    version = get_visible_or_404(_mine(request), public_id=public_id)
    status = 200
    if request.method == "POST":
        try:
            agreement_accept(version=version, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status
        else:
            messages.success(request, _("Thank you. You accepted this agreement."))
            return redirect("portal:agreement", public_id=version.public_id)
        version = get_visible_or_404(_mine(request), public_id=public_id)
    return render(
        request,
        "portal/agreement_detail.html",
        {
            "version": version,
            "acceptance": selectors.acceptance_of(version),
            "latest": selectors.is_latest(version),
            "paragraphs": version.text.split("\n\n"),
        },
        status=status,
    )


@portal_page
def agreement_pdf_download(request, public_id):
    version = get_visible_or_404(_mine(request), public_id=public_id)
    return bytes_download(
        agreement_pdf(version),
        filename=agreement_filename(version),
        content_type="application/pdf",
    )
