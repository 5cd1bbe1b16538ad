"""The consultant's sessions and Delphi rounds: upcoming and past, decline, calendar file."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404
from core.errors import DomainError
from core.files import bytes_download
from meetings import selectors
from meetings.ics import ics_filename, session_ics
from meetings.models import Invitation, Session
from meetings.services import has_closed, has_started, invitation_decline
from portal.views.page import portal_page


def _row(invitation: Invitation, now) -> dict:
    session = invitation.session
    live = session.status == Session.Status.SCHEDULED
    return {
        "i": invitation,
        "s": session,
        "can_decline": live
        and invitation.status == Invitation.Status.INVITED
        and not has_closed(session, now=now),
        "round_open": live
        and session.is_round
        and invitation.status == Invitation.Status.INVITED
        and has_started(session, now=now)
        and not has_closed(session, now=now),
    }


@portal_page
def my_sessions(request):
    now = timezone.now()
    upcoming, past = selectors.consultant_invitations(request.consultant, now=now)
    return render(
        request,
        "portal/sessions.html",
        {
            "upcoming": [_row(i, now) for i in upcoming],
            "past": [_row(i, now) for i in past],
        },
    )


def _own(request, public_id) -> Invitation:
    return get_visible_or_404(
        selectors.invitations_visible_to(request.user).filter(
            engagement__consultant=request.consultant
        ),
        public_id=public_id,
    )


@portal_page
def session_decline(request, public_id):
    """A confirm step (GET), then the decline itself (POST). No reason is asked."""
    invitation = _own(request, public_id)
    if request.method == "POST":
        try:
            invitation_decline(invitation=invitation, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("You declined. Nobody will ask you why. Thank you for telling us.")
            )
        return redirect("portal:sessions")
    row = _row(invitation, timezone.now())
    return render(request, "portal/session_decline.html", {"row": row})


@portal_page
def session_calendar(request, public_id):
    invitation = _own(request, public_id)
    return bytes_download(
        session_ics(invitation.session),
        filename=ics_filename(invitation.session),
        content_type="text/calendar; charset=utf-8",
    )
