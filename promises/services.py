"""The slip check: tell the people who can fix a blocked payment, and the consultant, once.

``promises_check`` runs each turn of the payments sweeper and by
``manage.py promises_check``. Each slip is recorded as a ``SlipNotice`` (unique per
consultant, reason and promised date) in the same transaction as its e-mails are
handed to the mail backend, as ``meetings.reminders`` does: a failure to send rolls
the row back and the next run tries again; a row already there means already told.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from promises import notifications
from promises.models import SlipNotice
from promises.selectors import Slip, slips_due, staff_recipients

log = logging.getLogger("promises")


def slip_notify(*, slip: Slip) -> SlipNotice | None:
    """Record and send one slip notice; None when it was told before."""
    if SlipNotice.objects.filter(
        consultant=slip.consultant, reason=slip.reason, promised_date=slip.promised_date
    ).exists():
        return None
    recipients = staff_recipients(slip)
    outcome = notifications.consultant_reachable(slip.consultant)
    try:
        with transaction.atomic():
            notice = SlipNotice.objects.create(
                consultant=slip.consultant,
                reason=slip.reason,
                promised_date=slip.promised_date,
                staff_told=len(recipients),
                consultant_outcome=outcome,
            )
            notice.contributions.set(slip.contributions)
            if recipients:
                subject, body = notifications.staff_message(slip)
                send_mail(
                    subject=subject,
                    message=body,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=recipients,
                )
            if outcome == "sent":
                subject, body = notifications.consultant_message(slip)
                send_mail(
                    subject=subject,
                    message=body,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[slip.consultant.email],
                )
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
