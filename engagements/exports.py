"""The columns of the coordinator pages' CSV downloads; ``core.csv`` streams them."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from engagements.models import Contribution, Dispute

CONTRIBUTION_HEADER = [
    "entry_id",
    "date",
    "consultant",
    "study",
    "phase",
    "role",
    "kind",
    "activity",
    "quantity",
    "amount_spent",
    "rate",
    "amount",
    "currency",
    "status",
    "description",
    "logged_by",
    "logged_at",
    "submitted_at",
    "approved_by",
    "approved_at",
    "adjusts_entry",
    "adjustment_reason",
    "returned_reason",
    "open_dispute",
]


def _stamp(value) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def contribution_csv_rows(contributions: Iterable[Contribution]) -> Iterable[list]:
    """Rows for ``contributions``; expects ``selectors.contribution_rows`` joins."""
    for c in contributions:
        e = c.engagement
        yield [
            str(c.public_id),
            c.date.isoformat(),
            e.consultant.display_name,
            e.phase.study.name,
            e.phase.name,
            e.role,
            c.kind,
            c.activity,
            c.quantity,
            c.claimed_amount,
            c.rate,
            c.amount,
            e.phase.study.currency,
            c.status,
            c.description,
            c.logged_by.get_short_name(),
            _stamp(c.logged_at),
            _stamp(c.submitted_at),
            c.approved_by.get_short_name() if c.approved_by_id else "",
            _stamp(c.approved_at),
            str(c.adjusts.public_id) if c.adjusts_id else "",
            c.reason,
            c.rejected_reason,
            "yes" if getattr(c, "has_open_dispute", False) else "no",
        ]


DISPUTE_HEADER = [
    "dispute_id",
    "entry_id",
    "consultant",
    "study",
    "phase",
    "date_of_work",
    "comment",
    "opened_at",
    "status",
]


def dispute_csv_rows(disputes: Iterable[Dispute]) -> Iterable[list]:
    """Rows for ``disputes``; expects ``selectors.open_disputes`` joins."""
    for d in disputes:
        yield [
            str(d.public_id),
            str(d.contribution.public_id),
            d.contribution.engagement.consultant.display_name,
            d.contribution.engagement.phase.study.name,
            d.contribution.engagement.phase.name,
            d.contribution.date.isoformat(),
            d.comment,
            timezone.localtime(d.created_at).isoformat(timespec="minutes"),
            d.status,
        ]
