"""E-mails about consent: neutral to the consultant, plain to the coordinators.

The consultant's e-mail says only that something waits in Honora, in their
language, and only when e-mail is the way they chose as safe. The coordinators'
e-mail names the use and the consultant's pseudonym or display name, never the
legal name.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.roles import COORDINATOR
from consents.models import ConsentEvent, ConsentRequest
from consultants.models import ContactMethod


def _site() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def request_made(request_id: int) -> bool:
    request = ConsentRequest.objects.select_related("engagement__consultant").get(pk=request_id)
    consultant = request.engagement.consultant
    if consultant.safe_contact_method != ContactMethod.EMAIL or not consultant.email:
        return False
    language = consultant.preferred_language
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    subject = gettext_noop("You have a new request to review in Honora")
    body = gettext_noop("You have a new request to review in Honora. Sign in to see it:")
    with translation.override(language):
        send_mail(
            subject=_(subject),
            message=_(body) + "\n\n" + _site() + "/accounts/login/\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[consultant.email],
        )
    return True


def known_as(request: ConsentRequest) -> str:
    """The name staff know the consultant by here: the pseudonym, else the display name."""
    consultant = request.engagement.consultant
    return consultant.pseudonym or consultant.display_name


def coordinators_for(request: ConsentRequest) -> list[str]:
    """The coordinator who asked, then every active coordinator (the study's coordinators)."""
    emails = [request.requested_by.email] if request.requested_by.is_active else []
    others = (
        User.objects.filter(groups__name=COORDINATOR, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
    )
    for email in others:
        if email and email not in emails:
            emails.append(email)
    return emails


def revocation_made(event_id: int) -> bool:
    event = ConsentEvent.objects.select_related(
        "request__engagement__consultant",
        "request__engagement__phase__study",
        "request__requested_by",
    ).get(pk=event_id)
    request = event.request
    recipients = coordinators_for(request)
    if not recipients:
        return False
    ledger = _site() + f"/studies/{request.engagement.phase.study.public_id}/consents/"
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "%(name)s revoked their consent to this use, in %(study)s:\n\n"
            "%(use)s: %(purpose)s\n\n"
            "Stop any future use of it. The honorarium already granted stays theirs.\n"
            "The consent ledger: %(link)s\n"
        ) % {
            "name": known_as(request),
            "study": request.engagement.phase.study.name,
            "use": request.get_use_display(),
            "purpose": request.purpose,
            "link": ledger,
        }
        send_mail(
            subject=_("A consent was revoked"),
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    return True
