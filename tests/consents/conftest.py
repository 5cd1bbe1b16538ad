from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from consultants.services import vault_update

LEGAL_NAME = "Zephyrine Quillfeather-Okonkwo"


@pytest.fixture(autouse=True)
def _tasks_now(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def named(consultant, finance):
    """The owner, with a distinctive legal name in the vault and a pseudonym."""
    consultant.pseudonym = "Riv"
    consultant.save(update_fields=["pseudonym"])
    vault_update(consultant=consultant, by=finance, reason="", legal_name=LEGAL_NAME)
    return consultant


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a service hands to ``enqueue_on_commit`` (the e-mails) as a commit would."""

    def capture():
        return django_capture_on_commit_callbacks(execute=True)

    return capture


@pytest.fixture
def ask(engagement, coordinator, committed):
    from consents.services import consent_request

    def make(**overrides):
        values = {
            "engagement": engagement,
            "by": coordinator,
            "use": "words",
            "purpose": "A quote in the final report",
            "audience": "public_report",
            "duration": "until",
            "until": timezone.localdate() + timedelta(days=365),
            "attribution": "display_name",
            "honoraria": 2,
        }
        values.update(overrides)
        with committed():
            return consent_request(**values)

    return make
