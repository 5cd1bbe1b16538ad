"""An agreement version as a PDF, through the documents' rendering helpers."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from accounts.middleware import consultant_language
from agreements.models import AgreementVersion
from agreements.selectors import acceptance_of
from payments.documents.rendering import organization, render_pdf


def agreement_language(version: AgreementVersion) -> str:
    """The consultant's language now, or the one the version was written in."""
    return consultant_language(version.engagement.consultant.user) or version.language


def agreement_pdf(version: AgreementVersion) -> bytes:
    """The version's text as issued, with its acceptance, in the consultant's language."""
    with translation.override(agreement_language(version)):
        html = render_to_string(
            "pdf/agreement.html",
            {
                "version": version,
                "acceptance": acceptance_of(version),
                "paragraphs": version.text.split("\n\n"),
                "org": organization(),
            },
        )
    return render_pdf(html)


def agreement_filename(version: AgreementVersion) -> str:
    """A neutral download name: the version number only."""
    return f"agreement-v{version.number}.pdf"
