"""Consent for one use: request -> grant (honorarium) -> revoke (coordinators told)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from consents.models import ConsentEvent, ConsentRequest, Standing
from consents.selectors import consent_requests_visible_to, standing_of
from consents.services import (
    consent_grant,
    consent_refuse,
    consent_revoke,
    consent_withdraw,
)
from core.append_only import AppendOnlyError
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import history_entries
from engagements.models import Contribution
from engagements.services.reviews import contribution_approve
from tests.consents.conftest import LEGAL_NAME

pytestmark = pytest.mark.django_db


def test_a_request_e_mails_the_consultant_neutrally_in_their_language(named, ask):
    named.preferred_language = "es"
    named.save(update_fields=["preferred_language"])
    ask()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [named.email]
    # Neutral: nothing about the use, the study or the consultant.
    for text in (message.subject, message.body):
        assert "quote" not in text.lower()
        assert "final report" not in text.lower()
        assert LEGAL_NAME not in text


def test_no_e_mail_when_e_mail_is_not_their_safe_way(named, ask):
    named.safe_contact_method = "phone"
    named.save(update_fields=["safe_contact_method"])
    ask()
    assert mail.outbox == []


def test_grant_then_revoke(named, ask, engagement, coordinator, coordinator2, committed):
    request = ask(honoraria=2)
    assert standing_of(request) == Standing.PENDING
    mail.outbox.clear()

    event = consent_grant(request=request, by=named.user)
    assert standing_of(request) == Standing.GRANTED
    c = event.contribution
    assert c is not None
    assert c.kind == Contribution.Kind.HONORARIUM
    assert c.status == Contribution.Status.SUBMITTED
    assert c.quantity == Decimal("2")
    assert c.logged_by == coordinator
    assert "A quote in the final report" in c.description
    history = history_entries(c)
    assert any(str(request.public_id) in entry.reason for entry in history)
    assert any(entry.action == "consent.honorarium" for entry in history)
    # Another coordinator approves it, at the engagement's honorarium rate (150 each).
    approved = contribution_approve(contribution=c, by=coordinator2)
    assert approved.amount == Decimal("300.00")
    # The one who asked (and logged it) cannot approve it.
    assert mail.outbox == []

    with committed():
        revoked = consent_revoke(request=request, by=named.user)
    assert revoked.kind == ConsentEvent.Kind.REVOKED
    assert standing_of(request) == Standing.REVOKED
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert coordinator.email in message.to and coordinator2.email in message.to
    assert "Riv" in message.body  # the pseudonym
    assert "A quote in the final report" in message.body
    assert LEGAL_NAME not in message.subject + message.body
    # The honorarium stays: never clawed back.
    c.refresh_from_db()
    assert c.status == Contribution.Status.APPROVED
    assert c.amount == Decimal("300.00")

    with committed(), pytest.raises(StateConflict):
        consent_revoke(request=request, by=named.user)
    with pytest.raises(StateConflict):
        consent_grant(request=request, by=named.user)
    assert request.events.count() == 2
    assert len(mail.outbox) == 1


def test_the_requester_cannot_approve_the_honorarium(named, ask, coordinator):
    event = consent_grant(request=ask(), by=named.user)
    with pytest.raises(NotAllowed):
        contribution_approve(contribution=event.contribution, by=coordinator)


def test_grant_without_honorarium_creates_no_contribution(named, ask):
    before = Contribution.objects.count()
    event = consent_grant(request=ask(honoraria=0), by=named.user)
    assert event.contribution is None
    assert Contribution.objects.count() == before


def test_granting_twice_is_a_conflict(named, ask):
    request = ask()
    consent_grant(request=request, by=named.user)
    with pytest.raises(StateConflict):
        consent_grant(request=request, by=named.user)
    assert Contribution.objects.filter(kind="honorarium").count() == 1


def test_refuse(named, ask):
    request = ask()
    consent_refuse(request=request, by=named.user, note="Not this one")
    assert standing_of(request) == Standing.REFUSED
    assert not Contribution.objects.filter(kind="honorarium").exists()
    with pytest.raises(StateConflict):
        consent_revoke(request=request, by=named.user)
    with pytest.raises(StateConflict):
        consent_grant(request=request, by=named.user)


def test_withdraw(named, ask, coordinator2):
    request = ask()
    consent_withdraw(request=request, by=coordinator2)
    assert standing_of(request) == Standing.WITHDRAWN
    with pytest.raises(StateConflict):
        consent_grant(request=request, by=named.user)
    with pytest.raises(StateConflict):
        consent_withdraw(request=request, by=coordinator2)


def test_withdrawing_an_answered_request_is_a_conflict(named, ask, coordinator):
    request = ask()
    consent_grant(request=request, by=named.user)
    with pytest.raises(StateConflict):
        consent_withdraw(request=request, by=coordinator)


def test_only_the_consultant_asked_answers(named, ask, outsider, coordinator):
    request = ask()
    for who in (outsider.user, coordinator):
        with pytest.raises(NotAllowed):
            consent_grant(request=request, by=who)
        with pytest.raises(NotAllowed):
            consent_refuse(request=request, by=who)
    assert standing_of(request) == Standing.PENDING
    assert not consent_requests_visible_to(outsider.user).filter(pk=request.pk).exists()


def test_consultants_do_not_ask_or_withdraw(named, ask, engagement):
    with pytest.raises(NotAllowed):
        ask(by=named.user)
    request = ask()
    with pytest.raises(NotAllowed):
        consent_withdraw(request=request, by=named.user)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purpose": "  "}, "purpose"),
        ({"purpose": "x" * 301}, "purpose"),
        ({"use": "soul"}, "use"),
        ({"audience": "everyone"}, "audience"),
        ({"attribution": "legal_name"}, "attribution"),
        ({"until": None}, "until"),
        ({"duration": "publication", "publication": ""}, "publication"),
        ({"honoraria": 11}, "honoraria"),
        ({"honoraria": -1}, "honoraria"),
        ({"honoraria": "1.5"}, "honoraria"),
        ({"honoraria": "9" * 40}, "honoraria"),
    ],
)
def test_bad_requests_change_nothing(ask, overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        ask(**overrides)
    assert caught.value.field == field
    assert ConsentRequest.objects.count() == 0


def test_a_pseudonym_attribution_needs_a_pseudonym(consultant, ask):
    with pytest.raises(ValidationFailed) as caught:
        ask(attribution="pseudonym")
    assert caught.value.field == "attribution"


def test_publication_duration(named, ask):
    request = ask(duration="publication", publication="Final report, 2027", until=None)
    assert request.until is None and request.publication == "Final report, 2027"


def test_the_ledger_is_append_only(named, ask):
    request = ask()
    event = consent_grant(request=request, by=named.user)
    with pytest.raises(AppendOnlyError):
        request.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(pk=event.pk).update(kind="refused")
