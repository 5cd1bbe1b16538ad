"""`manage.py agreements_issue_missing`: engagements made before agreements get version 1."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from agreements.models import AgreementAcceptance, AgreementVersion
from engagements.models import Engagement
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db


def _engagement_without_agreement(consultant, role="Reviewer"):
    """An engagement as made before agreements existed: written straight to the table."""
    other = EngagementFactory(consultant=consultant)
    return Engagement.objects.create(
        consultant=consultant, phase=other.phase, role=role, rate_card=other.rate_card
    )


def test_issues_version_one_once_to_each_active_engagement_without_one(consultant, coordinator):
    old = _engagement_without_agreement(consultant)
    ended = _engagement_without_agreement(consultant, role="Analyst")
    Engagement.objects.filter(pk=ended.pk).update(status=Engagement.Status.ENDED)
    agreed = EngagementFactory(consultant=consultant)
    before = AgreementVersion.objects.count()
    out = io.StringIO()
    call_command("agreements_issue_missing", contact=coordinator.email, stdout=out)
    assert out.getvalue().strip() == "1 agreement(s) issued."
    version = AgreementVersion.objects.get(engagement=old)
    assert version.number == 1 and version.reason == AgreementVersion.Reason.FIRST
    assert version.issued_by == coordinator
    assert version.terms["contact"]["name"] == coordinator.name
    assert not AgreementAcceptance.objects.filter(version=version).exists()
    assert not AgreementVersion.objects.filter(engagement=ended).exists()
    assert AgreementVersion.objects.count() == before + 1
    assert AgreementVersion.objects.filter(engagement=agreed).count() == 1
    out = io.StringIO()
    call_command("agreements_issue_missing", contact=coordinator.email, stdout=out)
    assert out.getvalue().strip() == "0 agreement(s) issued."


def test_the_contact_must_be_a_coordinator(consultant, finance):
    old = _engagement_without_agreement(consultant)
    for email in (consultant.user.email, finance.email, "nobody@example.org"):
        with pytest.raises(CommandError, match="--contact"):
            call_command("agreements_issue_missing", contact=email, stdout=io.StringIO())
    assert not AgreementVersion.objects.filter(engagement=old).exists()
