"""What a pay plan means month by month: pure, shared by the pages, the API and the
batch builder.

A deferral holds its entries until its month. A split lets each month from its first
take whole entries, oldest first, up to its monthly limit; in its last month (and after)
whatever is left goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from income.schedule import add_months, months_between

ZERO = Decimal("0.00")


def allowed_now(
    *,
    kind: str,
    start_month: date,
    months: int,
    month_limit: Decimal | None,
    month: date,
    already_this_month: Decimal,
    amounts: Sequence[tuple[int, Decimal]],
) -> set[int]:
    """Of these (key, amount) entries, oldest first, which may be paid in ``month``."""
    offset = months_between(start_month, month)
    if offset < 0:
        return set()
    if kind == "defer" or offset >= months - 1 or month_limit is None:
        return {key for key, _amount in amounts}
    room = month_limit - already_this_month
    chosen: set[int] = set()
    for key, amount in amounts:
        if amount > room:
            break  # whole entries, in order: a later smaller one does not jump the queue
        chosen.add(key)
        room -= amount
    return chosen


def split_layout(
    *, start_month: date, months: int, month_limit: Decimal, amounts: Iterable[Decimal]
) -> list[tuple[date, Decimal]] | None:
    """The months a split would pay its entries in, and how much in each; ``None`` when the
    entries do not fit ``months`` months of at most ``month_limit`` each."""
    layout: list[tuple[date, Decimal]] = [(add_months(start_month, n), ZERO) for n in range(months)]
    index = 0
    for amount in amounts:
        while index < months and layout[index][1] + amount > month_limit:
            index += 1
        if index >= months:
            return None
        layout[index] = (layout[index][0], layout[index][1] + amount)
    return layout


def entry_months(
    *,
    kind: str,
    start_month: date,
    months: int,
    month_limit: Decimal | None,
    amounts: Sequence[tuple[int, Decimal]],
) -> dict[int, date]:
    """Which month each (key, amount) entry is planned for."""
    if kind == "defer" or month_limit is None:
        return {key: start_month for key, _a in amounts}
    planned: dict[int, date] = {}
    index, used = 0, ZERO
    for key, amount in amounts:
        while index < months - 1 and used + amount > month_limit:
            index, used = index + 1, ZERO
        planned[key] = add_months(start_month, index)
        used += amount
    return planned
