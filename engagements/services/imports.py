"""Spreadsheet rows imported as contributions, chunk by chunk, all or nothing.

Each chunk of rows is checked by the very rules ``contribution_create`` applies
to one entry (``engagements.services.checks``), counted for the whole chunk at
once: the engagements locked and read in one query, the consultants whose days
get hours locked in one query, the hours already on each engagement and on each
of their days summed in one query each. The rows that pass are inserted with
their history rows in bulk, stamped as ``contribution_create`` stamps a single
imported entry (the importer, ``contribution.imported``, the row's note as the
reason). The caller holds the transaction that makes the whole file all or
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from consultants.models import Consultant
from core.errors import DomainError, NotAllowed, ValidationFailed
from core.history import stamp
from engagements import actions
from engagements.models import Contribution, Engagement
from engagements.services.checks import (
    Kind,
    Status,
    check_loggable,
    clean_fields,
    hours_cap_rule,
    hours_per_day_rule,
)

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class ImportRow:
    """One spreadsheet row, already parsed and matched to its engagement."""

    number: int  # 1-based data row, for messages
    engagement: Engagement
    kind: str
    activity: str
    date: date
    quantity: Decimal | None
    claimed_amount: Decimal | None
    description: str
    note: str  # the history reason: where the row came from


class ImportRefused(ValidationFailed):
    """Some rows could not be imported; ``errors`` maps row numbers to messages."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(
            _("Nothing was imported: %(count)d rows could not be saved.") % {"count": len(errors)},
            code="import_refused",
        )
        self.errors = errors


def check_may_import(by: User) -> None:
    if not by.has_perm("engagements.add_contribution"):
        raise NotAllowed(_("You cannot import contributions."))


def contributions_import_chunk(
    *, by: User, rows: list[ImportRow], lock: bool = True
) -> tuple[list[Contribution], dict[int, str]]:
    """Check ``rows`` and insert those that pass, in the caller's transaction.

    Returns the entries created and, by row number, why the others were refused
    (the message ``contribution_create`` gives for that row). Rows are checked in
    order, each counting the hours of the rows before it that passed, as one
    ``contribution_create`` after another would. A constant number of queries,
    whatever the number of rows.

    ``lock`` False is the dry run's: it reads without row locks (it is rolled
    back anyway), so a check that takes minutes never holds up anyone logging
    hours. An import that keeps its rows locks them, in pk order within a chunk;
    the caller serialises the imports themselves (``engagements.imports``).
    """
    if not rows:
        return [], {}
    check_may_import(by)
    engagement_rows = Engagement.objects.all()
    if lock:
        engagement_rows = engagement_rows.select_for_update()
    engagements = {
        e.pk: e
        for e in engagement_rows.filter(pk__in={r.engagement.pk for r in rows})
        .only("id", "consultant_id", "status", "hours_cap")
        .order_by("pk")
    }
    errors: dict[int, str] = {}
    checked: list[tuple[ImportRow, Engagement, dict]] = []
    for row in rows:
        engagement = engagements[row.engagement.pk]
        try:
            check_loggable(by=by, engagement=engagement)
            cleaned = clean_fields(
                values={
                    "kind": row.kind,
                    "activity": row.activity,
                    "date": row.date,
                    "quantity": row.quantity,
                    "claimed_amount": row.claimed_amount,
                    "description": row.description,
                }
            )
        except DomainError as exc:
            errors[row.number] = exc.message
            continue
        checked.append((row, engagement, cleaned))

    hours = [(e, c) for _row, e, c in checked if c["kind"] == Kind.HOURS and c["quantity"] > 0]
    on_engagement: dict[int, Decimal] = {}
    on_day: dict[tuple[int, date], Decimal] = {}
    capped = {e.pk for e, _c in hours if e.hours_cap is not None}
    if capped:
        on_engagement = dict(
            Contribution.objects.filter(engagement_id__in=capped, kind=Kind.HOURS)
            .exclude(status=Status.REJECTED)
            .values("engagement_id")
            .annotate(total=Sum("quantity"))
            .values_list("engagement_id", "total")
        )
    if hours:
        consultants = {e.consultant_id for e, _c in hours}
        # The lock check_hours_per_day takes, for every consultant of the chunk at
        # once, in pk order (imports are serialised by the caller, so chunks of two
        # imports never interleave).
        if lock:
            list(
                Consultant.objects.select_for_update()
                .filter(pk__in=consultants)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        for consultant_id, day, total in (
            Contribution.objects.filter(
                engagement__consultant_id__in=consultants,
                kind=Kind.HOURS,
                date__in={c["date"] for _e, c in hours},
            )
            .exclude(status=Status.REJECTED)
            .values("engagement__consultant_id", "date")
            .annotate(total=Sum("quantity"))
            .values_list("engagement__consultant_id", "date", "total")
        ):
            on_day[(consultant_id, day)] = total

    now = timezone.now()
    created: list[Contribution] = []
    for row, engagement, cleaned in checked:
        if cleaned["kind"] == Kind.HOURS:
            extra = cleaned["quantity"]
            day_key = (engagement.consultant_id, cleaned["date"])
            try:
                hours_cap_rule(
                    engagement=engagement,
                    logged=on_engagement.get(engagement.pk, Decimal("0")),
                    extra_hours=extra,
                )
                hours_per_day_rule(
                    work_date=cleaned["date"],
                    logged=on_day.get(day_key, Decimal("0")),
                    extra_hours=extra,
                )
            except DomainError as exc:
                errors[row.number] = exc.message
                continue
            on_engagement[engagement.pk] = on_engagement.get(engagement.pk, Decimal("0")) + extra
            on_day[day_key] = on_day.get(day_key, Decimal("0")) + extra
        contribution = Contribution(
            engagement_id=engagement.pk,
            logged_by=by,
            status=Status.SUBMITTED,
            submitted_at=now,
            **cleaned,
        )
        # The facts contribution_create's stamp gives one imported entry; the bulk
        # history below reads the user and the reason from the instance.
        stamp(contribution, by=by, action=actions.CONTRIBUTION_IMPORTED, reason=row.note)
        created.append(contribution)
    if created:
        created = bulk_create_with_history(
            created,
            Contribution,
            batch_size=1000,
            default_user=by,
            custom_historical_attrs={"history_action": str(actions.CONTRIBUTION_IMPORTED)},
        )
    return created, errors


@transaction.atomic
def contributions_import(*, by: User, rows: Iterable[ImportRow]) -> list[Contribution]:
    """Import spreadsheet rows all or nothing, by the rules of ``contribution_create``.

    Imported entries always arrive waiting for approval: the importer is their
    logger, so someone else approves them (separation of duties). Every row is
    tried so that all errors are reported at once; any error undoes them all.
    """
    check_may_import(by)
    created, errors = contributions_import_chunk(by=by, rows=list(rows))
    if errors:
        raise ImportRefused(errors)
    if not created:
        raise ValidationFailed(_("The file has no rows to import."))
    return created
