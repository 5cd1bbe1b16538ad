"""The slip check: tell the people who can fix a blocked payment, and the consultant, once.

``promises_check`` runs each turn of the payments sweeper and by
``manage.py promises_check``. Each slip is recorded as a ``SlipNotice`` (unique per
consultant, reason and promised date) with the outcome of each of its e-mails, sent
one by one: a failure to send is recorded ("failed"), never retried every turn; a row
already there means already told.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from consultants.models import Consultant
from promises import notifications
from promises.models import SlipNotice
from promises.selectors import Slip, slips_due, staff_recipients

log = logging.getLogger("promises")


def _send(subject: str, body: str, recipients: list[str], *, what: str) -> bool:
    """Hand one message to the mail backend; a failure is logged (its class only: the
    addresses and text are personal) and answered False, never raised."""
    try:
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    except Exception as exc:  # any backend failure: record it, go on
        log.warning("slip notice to %s not sent (%s)", what, type(exc).__name__)
        return False
    return True


def slip_notify(*, slip: Slip) -> SlipNotice | None:
    """Record and send one slip notice; None when it was told before.

    Each message is sent on its own and its outcome stored on the notice, so a failing
    consultant address never rolls back (and so repeats, every turn) the staff's e-mail.
    The consultant's row is locked first, so two runs at once tell a slip once; the
    notice is append-only, so it is written once both outcomes are known."""
    with transaction.atomic():
        # FOR NO KEY UPDATE: two checks wait for each other, a batch inserting this
        # consultant's payment (a key-share lock) never waits for the e-mails.
        Consultant.objects.select_for_update(no_key=True).filter(pk=slip.consultant.pk).first()
        if SlipNotice.objects.filter(
            consultant=slip.consultant, reason=slip.reason, promised_date=slip.promised_date
        ).exists():
            return None
        recipients = staff_recipients(slip)
        outcome = notifications.consultant_reachable(slip.consultant)
        staff_told = 0
        if recipients:
            subject, body = notifications.staff_message(slip)
            if _send(subject, body, recipients, what="staff"):
                staff_told = len(recipients)
        if outcome == "sent":
            subject, body = notifications.consultant_message(slip)
            if not _send(subject, body, [slip.consultant.email], what="consultant"):
                outcome = "failed"
        try:
            with transaction.atomic():
                notice = SlipNotice.objects.create(
                    consultant=slip.consultant,
                    reason=slip.reason,
                    promised_date=slip.promised_date,
                    staff_told=staff_told,
                    consultant_outcome=outcome,
                )
                notice.contributions.set(slip.contributions)
        except IntegrityError:
            return None  # told by a run at the same time
    return notice


def promises_check(*, today: date | None = None) -> dict[str, int]:
    """Find the promises about to slip and tell each one once; counts by reason."""
    today = today or timezone.localdate()
    counts: dict[str, int] = {}
    for slip in slips_due(today=today):
        notice = slip_notify(slip=slip)
        if notice is None:
            continue
        counts[slip.reason] = counts.get(slip.reason, 0) + 1
        # Ids only: a reason code and a row number say nothing about the person.
        log.info("slip notice %s: %s", notice.pk, slip.reason)
    return counts
