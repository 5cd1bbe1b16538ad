"""Issuing engagement agreements, and their acceptance in the portal or on paper."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agreements import actions
from agreements.models import NOTE_MAX, WITNESS_MAX, AgreementAcceptance, AgreementVersion
from agreements.terms import agreement_text, contact_terms, current_terms, what_changed
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from core.tasks import enqueue_on_commit
from engagements.models import Engagement

if TYPE_CHECKING:
    from accounts.models import User

ISSUE_PERM = "engagements.change_engagement"


def _lock_engagement(engagement: Engagement) -> Engagement:
    return (
        Engagement.objects.select_for_update(of=("self",))
        .select_related("consultant", "phase__study", "rate_card")
        .get(pk=engagement.pk)
    )


def _latest(engagement: Engagement) -> AgreementVersion | None:
    return AgreementVersion.objects.filter(engagement=engagement).order_by("-number").first()


def _language(engagement: Engagement) -> str:
    from django.conf import settings

    language = engagement.consultant.preferred_language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _write_version(
    e: Engagement,
    *,
    terms: dict[str, Any],
    reason: str,
    by: User | None,
    previous: AgreementVersion | None,
) -> AgreementVersion:
    number = previous.number + 1 if previous else 1
    language = _language(e)
    with translation.override(language):
        text = agreement_text(terms, number=number)
    version = AgreementVersion.objects.create(
        engagement=e,
        number=number,
        issued_at=timezone.now(),
        issued_by=by,
        reason=reason,
        terms=terms,
        language=language,
        text=text,
    )
    if previous is not None:
        # The engagement's own history says a new agreement was issued, and why (the
        # first one is part of creating the engagement).
        stamp(e, by=by, action=actions.AGREEMENT_ISSUED, reason=version.get_reason_display())
        e.save(update_fields=["status"])
    return version


def _contact_for(
    previous: AgreementVersion | None, contact: User | None, by: User | None
) -> dict[str, str] | None:
    if contact is not None:
        if not contact.is_staff_member:
            raise ValidationFailed(_("The contact must be a member of staff."), field="contact")
        return contact_terms(contact)
    if previous is not None and previous.terms.get("contact"):
        return previous.terms["contact"]
    if by is not None and by.is_staff_member:
        return contact_terms(by)
    return None


@transaction.atomic
def agreement_issue(
    *,
    engagement: Engagement,
    by: User | None,
    reason: str = AgreementVersion.Reason.REISSUED,
    contact: User | None = None,
) -> AgreementVersion:
    """Issue a new version of the engagement's agreement, from its terms as they are now.

    ``contact``: the staff member the consultant can turn to; by default the contact of
    the version before, or whoever issues it. ``by`` None: Honora itself (a change the
    consultant made to their payout method, say).
    """
    if by is not None and not by.has_perm(ISSUE_PERM):
        raise NotAllowed(_("You cannot issue agreements."))
    if reason not in AgreementVersion.Reason.values:
        raise ValidationFailed(_("Choose why this version is issued."), field="reason")
    e = _lock_engagement(engagement)
    previous = _latest(e)
    if previous is not None and previous.number >= 1000:
        raise StateConflict(_("This engagement has too many agreement versions."))
    terms = current_terms(e, contact=_contact_for(previous, contact, by))
    if previous is None:
        reason = AgreementVersion.Reason.FIRST
    return _write_version(e, terms=terms, reason=reason, by=by, previous=previous)


@transaction.atomic
def agreements_refresh(
    *, engagements: Iterable[Engagement], by: User | None, reason: str = ""
) -> list[AgreementVersion]:
    """Issue a new version for each engagement whose terms changed since its latest one.

    Called where rates and payout methods change. ``reason`` overrides the reason
    worked out from what changed. An engagement with no version yet gets its first.
    """
    issued = []
    for engagement in sorted(engagements, key=lambda e: e.pk):
        e = _lock_engagement(engagement)
        previous = _latest(e)
        contact = (
            previous.terms.get("contact")
            if previous
            else contact_terms(by if by is not None and by.is_staff_member else None)
        )
        terms = current_terms(e, contact=contact)
        changed = what_changed(previous.terms if previous else None, terms)
        if changed is None:
            continue
        if previous is not None and reason in AgreementVersion.Reason.values:
            changed = reason
        issued.append(_write_version(e, terms=terms, reason=changed, by=by, previous=previous))
    return issued


def _lock_version(version: AgreementVersion) -> tuple[AgreementVersion, Engagement]:
    # The engagement is the lock: issuing and accepting queue up behind each other.
    e = _lock_engagement(version.engagement)
    v = AgreementVersion.objects.get(pk=version.pk)
    return v, e


def _check_acceptable(v: AgreementVersion) -> None:
    if AgreementAcceptance.objects.filter(version=v).exists():
        raise StateConflict(_("This agreement is already accepted."), code="already_accepted")
    latest = _latest(v.engagement)
    if latest is not None and latest.pk != v.pk:
        raise StateConflict(
            _("There is a newer version of this agreement. Read and accept that one."),
            code="not_latest",
        )


def _after_acceptance(e: Engagement) -> None:
    # Payments held only for this agreement are checked again once this commits.
    enqueue_on_commit("agreements.tasks.recheck_agreement_holds", e.consultant_id)


@transaction.atomic
def agreement_accept(*, version: AgreementVersion, by: User) -> AgreementAcceptance:
    """The consultant accepts their own agreement's latest version in the portal."""
    v, e = _lock_version(version)
    if e.consultant.user_id is None or e.consultant.user_id != by.pk:
        raise NotAllowed(_("Only the consultant accepts their own agreement."))
    _check_acceptable(v)
    acceptance = AgreementAcceptance.objects.create(
        version=v,
        how=AgreementAcceptance.How.PORTAL,
        accepted_by=by,
        accepted_at=timezone.now(),
    )
    stamp(e, by=by, action=actions.AGREEMENT_ACCEPTED, reason=f"v{v.number}")
    e.save(update_fields=["status"])
    _after_acceptance(e)
    return acceptance


@transaction.atomic
def agreement_record_paper(
    *,
    version: AgreementVersion,
    by: User,
    witnessed_by: str,
    accepted_on: date | None,
    note: str = "",
) -> AgreementAcceptance:
    """A coordinator records that the consultant accepted this version on paper."""
    if not by.has_perm(ISSUE_PERM):
        raise NotAllowed(_("You cannot record agreements."))
    witnessed_by = (witnessed_by or "").strip()
    if not witnessed_by:
        raise ValidationFailed(_("Say who witnessed the acceptance."), field="witnessed_by")
    if len(witnessed_by) > WITNESS_MAX:
        raise ValidationFailed(
            _("Keep the witness's name under %(n)s characters.") % {"n": WITNESS_MAX},
            field="witnessed_by",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            _("Keep the note under %(n)s characters.") % {"n": NOTE_MAX}, field="note"
        )
    if not isinstance(accepted_on, date):
        raise ValidationFailed(_("Enter the date it was signed."), field="accepted_on")
    v, e = _lock_version(version)
    if e.consultant.user_id is not None and e.consultant.user_id == by.pk:
        raise NotAllowed(_("Nobody records their own agreement."), code="own_record")
    if accepted_on > timezone.localdate():
        raise ValidationFailed(_("The date signed cannot be in the future."), field="accepted_on")
    if accepted_on < timezone.localtime(v.issued_at).date():
        raise ValidationFailed(
            _("The date signed cannot be before this version was issued."), field="accepted_on"
        )
    _check_acceptable(v)
    when = timezone.make_aware(datetime.combine(accepted_on, time(12, 0)))
    acceptance = AgreementAcceptance.objects.create(
        version=v,
        how=AgreementAcceptance.How.PAPER,
        accepted_by=by,
        witnessed_by=witnessed_by,
        accepted_at=min(when, timezone.now()),
        note=note,
    )
    stamp(e, by=by, action=actions.AGREEMENT_PAPER_RECORDED, reason=f"v{v.number}: {witnessed_by}")
    e.save(update_fields=["status"])
    _after_acceptance(e)
    return acceptance
