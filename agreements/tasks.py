"""Background work for agreements (django-tasks)."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.utils.translation import gettext as _
from django_tasks import task

from core.errors import DomainError
from payments.models import Payment
from payments.services.finance import payment_release_when_clear

log = logging.getLogger("agreements.tasks")


@task()
def recheck_agreement_holds(consultant_id: int) -> int:
    """After an agreement is accepted: release the consultant's payments held only for it.

    Each payment goes through the whole pre-flight again (one savepoint each); one that
    something else still holds stays held, with finance's words as before. Returns how
    many were released.
    """
    held = Payment.objects.filter(
        consultant_id=consultant_id,
        status=Payment.Status.HELD,
        hold_reason=Payment.Hold.AGREEMENT_NOT_ACCEPTED,
    ).order_by("id")
    released = 0
    for payment in held:
        try:
            done = payment_release_when_clear(
                payment=payment,
                code=Payment.Hold.AGREEMENT_NOT_ACCEPTED,
                reason=_("The consultant's agreement was accepted."),
            )
        except (DomainError, DatabaseError):
            log.exception("payment %s: agreement hold not rechecked", payment.public_id)
            continue
        released += done is not None
    return released
