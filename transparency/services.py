"""Publishing a study's transparency report: the one write this app makes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.roles import ADMIN, COORDINATOR
from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import stamp
from engagements.models import Study
from transparency import actions
from transparency.models import REASON_MAX, Publication
from transparency.report import METHOD_VERSION, canonical, report_for, sha256

if TYPE_CHECKING:
    from accounts.models import User

EARLIEST_END = dt.date(2000, 1, 1)


def next_period_start(study: Study) -> dt.date | None:
    """Where the study's next report starts: the day after its latest report's end
    (``None`` for its first report, which starts with the study)."""
    latest = (
        Publication.objects.filter(study=study)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
    ).first()
    return latest + dt.timedelta(days=1) if latest else None


def preview_hash(*, study: Study, period_end: dt.date) -> str:
    """The hash of the figures as they stand (without a publication date).

    The confirm step carries it; publishing refuses if the figures changed since.
    """
    return sha256(canonical(report_for(study, period_end, start=next_period_start(study))))


def publication_publish(
    *,
    study: Study,
    period_end: dt.date,
    by: User,
    reason: str,
    previewed: str,
) -> Publication:
    """Publish the report as previewed: a new, immutable row with its hash."""
    if not (by.has_role(COORDINATOR, ADMIN) or by.is_superuser):
        raise NotAllowed(_("Only coordinators publish the transparency report."))
    today = timezone.localdate()
    if not isinstance(period_end, dt.date) or not EARLIEST_END <= period_end <= today:
        raise ValidationFailed(_("Choose an end date between 2000 and today."), field="period_end")
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise ValidationFailed(
            _("Say why you publish now, in at most %(n)s characters.") % {"n": REASON_MAX},
            field="reason",
        )
    with transaction.atomic():
        # One publication at a time per study: the study row is the lock.
        locked = Study.objects.select_for_update().get(pk=study.pk)
        start = next_period_start(locked)
        if start is not None and period_end < start:
            raise ValidationFailed(
                _(
                    "The last report ends on %(end)s. Reports never overlap: choose a later "
                    "end date."
                )
                % {"end": date_format(start - dt.timedelta(days=1), "DATE_FORMAT")},
                field="period_end",
            )
        if preview_hash(study=locked, period_end=period_end) != previewed:
            raise StateConflict(
                _("The figures changed since the preview. Look at them again before publishing.")
            )
        now = timezone.now()
        data = canonical(report_for(locked, period_end, start=start, published_at=now))
        publication = Publication(
            study=locked,
            period_start=start,
            period_end=period_end,
            published_at=now,
            published_by=by,
            reason=reason,
            document=data.decode(),
            sha256=sha256(data),
            method_version=METHOD_VERSION,
        )
        stamp(publication, by=by, action=actions.REPORT_PUBLISHED, reason=reason)
        publication.save()
    return publication
