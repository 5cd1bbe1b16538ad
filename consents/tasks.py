"""Background work for the consent ledger: the e-mails, after the change commits."""

from __future__ import annotations

from django_tasks import task

from consents import notifications


@task()
def tell_consultant_of_request(request_id: int) -> bool:
    return notifications.request_made(request_id)


@task()
def tell_coordinators_of_revocation(event_id: int) -> bool:
    return notifications.revocation_made(event_id)
