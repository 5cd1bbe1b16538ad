"""Who may act on payments: finance only, and never on their own money."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from consultants.models import Consultant
from core.errors import NotAllowed
from payments import selectors
from payments.models import Payment, PayoutBatch

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def require_finance(user: User | AnonymousUser | None) -> None:
    if not (user and user.is_authenticated and user.has_perm("payments.access_finance")):
        raise NotAllowed(_("Only finance can do this."))


def not_a_payee(user: User, batch: PayoutBatch, action: str) -> None:
    if user.pk in selectors.batch_payee_user_ids([batch.pk])[batch.pk]:
        raise NotAllowed(
            _("You are paid in this batch, so someone else must %(action)s it.")
            % {"action": action},
            code="own_payment",
        )


def _payee_user_id(payment: Payment) -> int | None:
    # The user id only: the consultant's contact fields are encrypted and not needed.
    return (
        Consultant.objects.filter(pk=payment.consultant_id)
        .values_list("user_id", flat=True)
        .first()
    )


def not_own(payment: Payment, by: User, message: str) -> None:
    if _payee_user_id(payment) == by.pk:
        raise NotAllowed(message, code="own_payment")
