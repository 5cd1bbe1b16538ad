"""How every writer locks a payment or a batch, so that none waits for another in a circle.

Finance's actions on a payment lock its batch row, then the payment row
(``lock_payment``), then its items and contributions; batch-wide actions
(execute, cancel, refresh) lock the batch and then its payments. The engine and
the webhooks lock the payment row only (``lock_batch=False``), never its batch:
batch-wide actions refuse a processing batch before they lock its payments, and
taking the batch row as well let two workers deadlock (commit 04e0a66).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from core.errors import StateConflict
from payments.models import Payment, PayoutBatch


def locked_batch(batch: PayoutBatch) -> PayoutBatch:
    """The batch's row, locked FOR UPDATE (read again: its state is current)."""
    return PayoutBatch.objects.select_for_update().get(pk=batch.pk)


def _lock_batch_rows(batch_ids: Iterable[int]) -> None:
    """Lock these batch rows FOR UPDATE, in id order."""
    list(
        PayoutBatch.objects.select_for_update()
        .filter(pk__in=sorted(set(batch_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_payments(payments: Iterable[Payment | int], *, lock_batch: bool = True) -> list[Payment]:
    """Lock payments FOR UPDATE, in id order; with ``lock_batch``, their batch rows first.

    Batch-wide actions (execute, cancel, refresh) lock a batch and then its
    payments; finance's actions on one payment take the same order (``lock_batch``,
    the default), so no two of them ever wait for each other in a circle
    (PostgreSQL would end that with a "deadlock detected" error).
    ``lock_batch=False``: the engine and the webhooks lock the payment rows only,
    never the batch row. Taking the batch row too (even FOR SHARE) let two workers'
    nested calls upgrade to an exclusive batch lock at once, which PostgreSQL ends
    as a deadlock.

    The payments come back by id; with ``lock_batch``, with their (current) batch
    loaded. Never their consultant. (Without it the batch is not joined: the engine
    and the webhooks, which lock a payment twice per payment paid, never read it.)
    """
    ids = sorted({p if isinstance(p, int) else p.pk for p in payments})
    query = Payment.objects.select_for_update(of=("self",))
    if lock_batch:
        batch_ids = Payment.objects.filter(pk__in=ids).values_list("batch_id", flat=True)
        _lock_batch_rows(batch_ids)
        query = query.select_related("batch")
    if len(ids) == 1:
        return list(query.filter(pk=ids[0]).order_by())
    return list(query.filter(pk__in=ids).order_by("pk"))


def lock_payment(payment: Payment | int, *, lock_batch: bool = True) -> Payment:
    """``lock_payments`` for one payment (an id or an instance)."""
    found = lock_payments([payment], lock_batch=lock_batch)
    if not found:
        raise Payment.DoesNotExist("no such payment")
    return found[0]


def conflict(what: str, status_label: str) -> StateConflict:
    """The error for an action that the row's current state (read under its lock) forbids."""
    return StateConflict(
        _("This %(what)s is %(status)s now, so that can no longer be done.")
        % {"what": what, "status": status_label.lower()}
    )
