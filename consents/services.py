"""Asking for, answering and revoking consent for one use of a consultant's story.

Each action locks the request, checks its standing (its latest event), appends
an event and hands the e-mails to a task after commit. A stale or repeated action
is a StateConflict (409). A grant with honoraria creates the honorarium as a
contribution already submitted, logged by the coordinator who asked, so another
coordinator approves it; a revocation never takes it back.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consents import actions
from consents.models import (
    HONORARIA_MAX,
    LATEST_END,
    NOTE_MAX,
    PUBLICATION_MAX,
    PURPOSE_MAX,
    Attribution,
    Audience,
    ConsentEvent,
    ConsentRequest,
    Duration,
    Standing,
    Use,
)
from consents.selectors import may_coordinate, standing_of
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.tasks import enqueue_on_commit
from engagements.models import Activity, Contribution, Engagement, Rate
from engagements.rates import rate_in_force
from engagements.services.checks import is_own

if TYPE_CHECKING:
    from accounts.models import User

HONORARIUM_ACTIVITY = Activity.WORK


def _choice(value: object, choices: type, field: str, message: str) -> str:
    if not isinstance(value, str) or value not in choices.values:  # type: ignore[attr-defined]
        raise ValidationFailed(message, field=field)
    return value


def _text(value: object, *, field: str, limit: int, required: bool, message: str) -> str:
    text = (value if isinstance(value, str) else "").strip()
    if required and not text:
        raise ValidationFailed(message, field=field)
    if len(text) > limit:
        raise ValidationFailed(
            _("Keep this to %(limit)s characters or fewer.") % {"limit": limit}, field=field
        )
    return text


def _honoraria(value: object) -> int:
    if value in (None, ""):
        return 0
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not text.isascii():
        raise ValidationFailed(
            _("Enter the number of honoraria as a whole number."), field="honoraria"
        )
    count = int(text[:6])
    if count > HONORARIA_MAX or len(text) > 6:
        raise ValidationFailed(
            _("The number of honoraria is between 0 and %(most)s.") % {"most": HONORARIA_MAX},
            field="honoraria",
        )
    return count


def honorarium_rate(engagement: Engagement, *, on: date | None = None) -> Rate | None:
    return rate_in_force(
        rate_card=engagement.rate_card,
        activity=HONORARIUM_ACTIVITY,
        kind=Rate.Kind.FLAT,
        on=on or timezone.localdate(),
    )


def _lock(request: ConsentRequest) -> ConsentRequest:
    return (
        ConsentRequest.objects.select_for_update()
        .select_related("engagement", "engagement__consultant", "requested_by")
        .get(pk=request.pk)
    )


def _append(
    request: ConsentRequest, *, kind: str, by: User, note: str = "", **extra: Any
) -> ConsentEvent:
    event = ConsentEvent(request=request, kind=kind, by=by, note=note, **extra)
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        # Someone else answered in between (the unique constraint caught it).
        raise StateConflict(_("This request was already answered."), code="stale") from None
    return event


@transaction.atomic
def consent_request(
    *,
    engagement: Engagement,
    by: User,
    use: object,
    purpose: object,
    audience: object,
    duration: object,
    attribution: object,
    until: date | None = None,
    publication: object = "",
    honoraria: object = 0,
) -> ConsentRequest:
    """A coordinator asks a consultant for one use of their words, story, image or name."""
    if not may_coordinate(by):
        raise NotAllowed(_("Only coordinators ask for consent."))
    engagement = (
        Engagement.objects.select_for_update().select_related("consultant").get(pk=engagement.pk)
    )
    use = _choice(use, Use, "use", _("Choose what would be used."))
    purpose = _text(
        purpose, field="purpose", limit=PURPOSE_MAX, required=True, message=_("Say what it is for.")
    )
    audience = _choice(audience, Audience, "audience", _("Choose who would see or hear it."))
    duration = _choice(duration, Duration, "duration", _("Choose for how long."))
    attribution = _choice(
        attribution, Attribution, "attribution", _("Choose the name it would be shown under.")
    )
    publication_text = ""
    if duration == Duration.UNTIL:
        today = timezone.localdate()
        if until is None:
            raise ValidationFailed(_("Enter the date the use ends."), field="until")
        if until <= today:
            raise ValidationFailed(_("The end date must be after today."), field="until")
        if until > LATEST_END:
            raise ValidationFailed(
                _("The end date can be no later than %(year)s.") % {"year": LATEST_END.year},
                field="until",
            )
    else:
        until = None
        publication_text = _text(
            publication,
            field="publication",
            limit=PUBLICATION_MAX,
            required=True,
            message=_("Name the publication."),
        )
    if attribution == Attribution.PSEUDONYM and not engagement.consultant.pseudonym:
        raise ValidationFailed(
            _("This consultant has no pseudonym; choose another name or anonymous."),
            field="attribution",
        )
    count = _honoraria(honoraria)
    if count:
        if engagement.status != Engagement.Status.ACTIVE:
            raise StateConflict(_("This engagement has ended; it cannot carry an honorarium."))
        if honorarium_rate(engagement) is None:
            raise ValidationFailed(
                _("This engagement's rate card has no honorarium rate."), field="honoraria"
            )
    request = ConsentRequest(
        engagement=engagement,
        use=use,
        purpose=purpose,
        audience=audience,
        duration=duration,
        until=until,
        publication=publication_text,
        attribution=attribution,
        honoraria=count,
        requested_by=by,
    )
    request.save()
    enqueue_on_commit("consents.tasks.tell_consultant_of_request", request.pk)
    return request


def _consultants_own(request: ConsentRequest, by: User, message: str) -> None:
    if not is_own(by, request.engagement):
        raise NotAllowed(message)


def _must_be(request: ConsentRequest, standing: str, message: str) -> None:
    if standing_of(request) != standing:
        raise StateConflict(message, code="stale")


@transaction.atomic
def consent_grant(*, request: ConsentRequest, by: User) -> ConsentEvent:
    """The consultant agrees to the use; its honoraria become a submitted contribution."""
    r = _lock(request)
    _consultants_own(r, by, _("Only the consultant asked can answer this request."))
    _must_be(r, Standing.PENDING, _("This request is no longer waiting for an answer."))
    contribution = None
    if r.honoraria:
        contribution = _honorarium(r)
    event = _append(r, kind=ConsentEvent.Kind.GRANTED, by=by, contribution=contribution)
    if contribution is not None:
        # The honorarium's own history names the use it pays for.
        stamp(
            contribution,
            by=by,
            action=actions.CONSENT_HONORARIUM,
            reason=_("Consent request %(id)s: %(purpose)s")
            % {"id": r.public_id, "purpose": r.purpose},
        )
        contribution.save(update_fields=["updated_at"])
    return event


def _honorarium(r: ConsentRequest) -> Contribution:
    from engagements.services.contributions import contribution_create, contribution_submit

    # Logged by the coordinator who asked (they set the honoraria), so another
    # coordinator approves it: nobody approves what they logged.
    logger = r.requested_by
    contribution = contribution_create(
        engagement=r.engagement,
        by=logger,
        kind=Contribution.Kind.HONORARIUM,
        activity=HONORARIUM_ACTIVITY,
        date=timezone.localdate(),
        quantity=r.honoraria,
        description=_("Honorarium for the use of %(use)s: %(purpose)s")
        % {"use": r.get_use_display().lower(), "purpose": r.purpose},
    )
    return contribution_submit(contribution=contribution, by=logger)


@transaction.atomic
def consent_refuse(*, request: ConsentRequest, by: User, note: str = "") -> ConsentEvent:
    r = _lock(request)
    _consultants_own(r, by, _("Only the consultant asked can answer this request."))
    _must_be(r, Standing.PENDING, _("This request is no longer waiting for an answer."))
    note = _text(note, field="note", limit=NOTE_MAX, required=False, message="")
    return _append(r, kind=ConsentEvent.Kind.REFUSED, by=by, note=note)


@transaction.atomic
def consent_revoke(*, request: ConsentRequest, by: User, note: str = "") -> ConsentEvent:
    """The consultant takes a grant back: future uses stop; coordinators are told.

    No reason is asked. An honorarium already granted stays theirs.
    """
    r = _lock(request)
    _consultants_own(r, by, _("Only the consultant who granted this can revoke it."))
    _must_be(r, Standing.GRANTED, _("Only a granted use can be revoked."))
    note = _text(note, field="note", limit=NOTE_MAX, required=False, message="")
    event = _append(r, kind=ConsentEvent.Kind.REVOKED, by=by, note=note)
    enqueue_on_commit("consents.tasks.tell_coordinators_of_revocation", event.pk)
    return event


@transaction.atomic
def consent_withdraw(*, request: ConsentRequest, by: User, note: str = "") -> ConsentEvent:
    """A coordinator withdraws a request the consultant has not answered yet."""
    if not may_coordinate(by):
        raise NotAllowed(_("Only coordinators withdraw a request."))
    r = _lock(request)
    _must_be(r, Standing.PENDING, _("Only a request still waiting for an answer can be withdrawn."))
    note = _text(note, field="note", limit=NOTE_MAX, required=False, message="")
    return _append(r, kind=ConsentEvent.Kind.WITHDRAWN, by=by, note=note)
