"""Reads about consultants that pages and the API share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Model, QuerySet

from consultants.models import Consultant

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def consultants_visible_to(user: User | AnonymousUser) -> QuerySet[Consultant]:
    """Staff see every consultant; a consultant sees only themselves."""
    if not user.is_authenticated:
        return Consultant.objects.none()
    if user.is_staff_member and user.has_perm("consultants.view_consultant"):
        return Consultant.objects.all()
    return Consultant.objects.filter(user=user)


def mask_taxpayer_id(last4: str) -> str:
    return f"•••-••-{last4}" if last4 else "—"


# A consultant's encrypted contact details: lists that do not show them defer them, so
# that they are neither loaded nor decrypted row by row.
ENCRYPTED_CONTACT_FIELDS = ("email", "phone", "safe_contact_notes")


# What staff never read about a consultant: contact details, the account link and
# the consultant's own benefits limit. The consultant sees all of it.
STAFF_HIDDEN_FIELDS = (
    "email",
    "phone",
    "safe_contact_notes",
    "user",
    "benefits_cap_amount",
    "benefits_cap_period",
)


def history_hidden_fields(viewer: User | AnonymousUser, record: Model) -> tuple[str, ...]:
    """Fields left out of ``record``'s history when ``viewer`` reads it."""
    if isinstance(record, Consultant):
        own = getattr(viewer, "consultant", None)
        if own is None or own.pk != record.pk:
            return STAFF_HIDDEN_FIELDS
    return ()
