"""Spreadsheet rows imported as contributions, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import DomainError, NotAllowed, ValidationFailed
from engagements.models import Contribution, Engagement
from engagements.services.contributions import contribution_create

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


@transaction.atomic
def contributions_import(*, by: User, rows: Iterable[ImportRow]) -> list[Contribution]:
    """Import spreadsheet rows all or nothing, each through ``contribution_create``.

    Imported entries always arrive waiting for approval: the importer is their
    logger, so someone else approves them (separation of duties). Every row is
    tried so that all errors are reported at once; any error undoes them all.
    """
    if not by.has_perm("engagements.add_contribution"):
        raise NotAllowed(_("You cannot import contributions."))
    created: list[Contribution] = []
    errors: dict[int, str] = {}
    for row in rows:
        try:
            created.append(
                contribution_create(
                    engagement=row.engagement,
                    by=by,
                    kind=row.kind,
                    activity=row.activity,
                    date=row.date,
                    quantity=row.quantity,
                    claimed_amount=row.claimed_amount,
                    description=row.description,
                    submit=True,
                    import_note=row.note,
                )
            )
        except DomainError as exc:
            errors[row.number] = exc.message
    if errors:
        raise ImportRefused(errors)
    if not created:
        raise ValidationFailed(_("The file has no rows to import."))
    return created
