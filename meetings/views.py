"""The coordinator's session pages: list, schedule, one session (invite, attendance), cancel."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import coordinator_required, get_visible_or_404
from core.errors import DomainError
from core.files import bytes_download
from core.forms import show_error
from core.history import history_entries
from engagements.models import Engagement, Study
from meetings import selectors, services
from meetings.forms import AttendanceForm, CancelForm, InviteForm, SessionForm
from meetings.ics import ics_filename, session_ics
from meetings.models import Invitation, Session


def _with_counts(qs):
    return qs.annotate(
        invited=Count("invitations"),
        declined=Count("invitations", filter=Q(invitations__status="declined")),
        done=Count("invitations", filter=Q(invitations__status__in=["attended", "completed"])),
    )


@coordinator_required
def session_list(request):
    sessions = selectors.sessions_visible_to(request.user)
    study = None
    if request.GET.get("study"):
        study = get_visible_or_404(Study.objects.all(), public_id=request.GET["study"])
        sessions = sessions.filter(phase__study=study)
    now = timezone.now()
    today = timezone.localdate(now)
    upcoming_q = Q(ends_at__gt=now) | Q(closes_on__gte=today)
    upcoming = _with_counts(sessions.filter(upcoming_q)).order_by("starts_at", "opens_on", "id")
    past = _with_counts(sessions.exclude(upcoming_q)).order_by("-ends_at", "-closes_on", "-id")
    return render(
        request,
        "meetings/session_list.html",
        {"study": study, "upcoming": list(upcoming[:200]), "past": list(past[:100])},
    )


@coordinator_required
def session_schedule(request):
    form = SessionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                session = services.session_schedule(by=request.user, **data)
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The session is scheduled. Now invite people to it."))
                return redirect("meetings:detail", public_id=session.public_id)
    return render(request, "meetings/session_form.html", {"form": form}, status=status)


def _session(request, public_id) -> Session:
    return get_visible_or_404(selectors.sessions_visible_to(request.user), public_id=public_id)


def _candidates(session: Session):
    """Active engagements in the session's phase that are not invited (or declined: again)."""
    taken = Invitation.objects.filter(session=session).exclude(status=Invitation.Status.DECLINED)
    return (
        Engagement.objects.filter(phase=session.phase, status=Engagement.Status.ACTIVE)
        .exclude(pk__in=taken.values("engagement_id"))
        .select_related("consultant")
        .order_by("consultant__display_name", "id")
    )


def _open_invitations(session: Session):
    return (
        Invitation.objects.filter(
            session=session, status__in=[Invitation.Status.INVITED, Invitation.Status.ABSENT]
        )
        .select_related("engagement__consultant")
        .order_by("engagement__consultant__display_name", "id")
    )


def _detail(request, session, *, invite_form=None, attendance_form=None, status=200):
    candidates = _candidates(session)
    open_invitations = _open_invitations(session)
    live = session.status == Session.Status.SCHEDULED
    return render(
        request,
        "meetings/session_detail.html",
        {
            "session": session,
            "invitations": session.invitations.select_related(
                "engagement__consultant", "contribution"
            ).order_by("engagement__consultant__display_name", "id"),
            "invite_form": invite_form or InviteForm(candidates=candidates),
            "can_invite": live and candidates.exists(),
            "attendance_form": attendance_form or AttendanceForm(open_invitations=open_invitations),
            "can_record": live and services.has_started(session) and open_invitations.exists(),
            "can_cancel": live
            and not session.invitations.filter(status__in=Invitation.DONE_STATUSES).exists(),
            "history": history_entries(session, viewer=request.user),
        },
        status=status,
    )


@coordinator_required
def session_detail(request, public_id):
    return _detail(request, _session(request, public_id))


@coordinator_required
@require_POST
def session_invite(request, public_id):
    session = _session(request, public_id)
    form = InviteForm(request.POST, candidates=_candidates(session))
    if not form.is_valid():
        return _detail(request, session, invite_form=form, status=400)
    try:
        invitations = services.session_invite(
            session=session, engagements=form.cleaned_data["engagements"], by=request.user
        )
    except DomainError as exc:
        status = show_error(form, exc)
        return _detail(request, session, invite_form=form, status=status)
    messages.success(request, _("%(count)s invited.") % {"count": len(invitations)})
    return redirect("meetings:detail", public_id=session.public_id)


@coordinator_required
@require_POST
def session_attendance(request, public_id):
    session = _session(request, public_id)
    open_invitations = _open_invitations(session)
    form = AttendanceForm(request.POST, open_invitations=open_invitations)
    if not form.is_valid():
        return _detail(request, session, attendance_form=form, status=400)
    attended = list(form.cleaned_data["attended"])
    absent = [i for i in open_invitations if i not in attended]
    try:
        created = services.attendance_record(
            session=session, attended=attended, absent=absent, by=request.user
        )
    except DomainError as exc:
        status = show_error(form, exc)
        return _detail(request, session, attendance_form=form, status=status)
    messages.success(
        request,
        _("Attendance recorded: %(count)s entries are waiting for another coordinator's approval.")
        % {"count": len(created)},
    )
    return redirect("meetings:detail", public_id=session.public_id)


@coordinator_required
def session_cancel(request, public_id):
    session = _session(request, public_id)
    form = CancelForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.session_cancel(
                    session=session, by=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("The session is cancelled."))
                return redirect("meetings:detail", public_id=session.public_id)
    return render(
        request, "meetings/session_cancel.html", {"session": session, "form": form}, status=status
    )


@coordinator_required
def session_calendar(request, public_id):
    session = _session(request, public_id)
    return bytes_download(
        session_ics(session),
        filename=ics_filename(session),
        content_type="text/calendar; charset=utf-8",
    )
