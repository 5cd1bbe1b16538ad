"""Small-cell suppression for the public report: pure functions, no database.

A *cell* is one figure of the report (paid in one phase, hours in one quarter, the
payments of one rail that took 8 to 14 days) with the set of consultants it
describes. The ids in those sets live only in memory while the report is built;
they are never written anywhere.

The rules, in the order they are applied:

1. **Primary suppression.** A cell that describes one to four consultants is not
   shown ("fewer than 5"). A cell that describes nobody is a true zero and is shown:
   it tells nothing about anyone.
2. **Complementary suppression.** In every additive group (a table's cells that add
   up to the table's published total), once one cell is hidden, more are hidden until
   (a) no hidden cell equals the total minus the shown cells, for each value the group
   adds up, and (b) the hidden cells together describe at least five consultants, so
   the one figure a reader can compute (their sum) describes five people or more. The
   next cell hidden is always the smallest (fewest consultants, then smallest values).
   When no cell is left to hide, the total is hidden too.
   The same grand total heads several tables (by phase, by activity, by method, by
   quarter): each table is protected on its own and always as if its total were
   known, because a total hidden in one table could be rebuilt from another.
3. **Derived figures.** A rate or a median is shown only if every cell it is derived
   from is shown (``derived_visible``).
4. **Counts of consultants.** Counts are not additive (one person works in several
   phases), so no table of counts adds up to the total count. The one difference a
   reader can still compute is the total count minus a cell's count: the number of
   consultants *not* in that cell, which is a group of people too. A cell's count is
   shown only when the cell is shown and that difference is zero or at least five
   (``count_visible``). The cells of different tables are not known to nest in one
   another (the report never says who is in two cells), so differences between two
   cells' counts describe no known group.

5. **Hidden totals stay hidden.** A total hidden for any reason is never left
   re-computable as the sum of its cells: at least one of its cells with people in it
   is hidden too (``group_is_safe``). A quarter's money is the sum of its hourly pay
   (which its hours and effective rate reveal) and its other pay, so both are cells of
   the quarter (and the study's hourly and other pay of the grand total): hiding a
   quarter hides part of that split, and a small group paid other than by the hour
   hides the hours and rate that would reveal it.
6. **Mirrors.** Two cells of different tables that describe the same people with the
   same money (a phase that ran in one quarter only) are one figure: if either is
   hidden, both are (``links``).

Publications never overlap: each covers the payments made after the previous one's
end date (``transparency.services``), so two reports are two separate sets of
people and money, and comparing them reveals nothing a single report hides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

MINIMUM = 5

SMALL = "fewer_than_5"  # primary: the cell itself describes one to four people
WITHHELD = "withheld"  # complementary: hidden so that a small cell cannot be worked out


@dataclass(frozen=True)
class Cell:
    """One figure and the consultants it describes (ids, in memory only)."""

    key: str
    people: frozenset[int]
    values: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """Cells that add up, value by value, to the group's ``total`` cell."""

    name: str
    members: tuple[str, ...]
    total: str


def primary(cells: Mapping[str, Cell], minimum: int = MINIMUM) -> dict[str, str]:
    """Cells describing one to ``minimum - 1`` consultants."""
    return {k: SMALL for k, c in cells.items() if 0 < len(c.people) < minimum}


def _order(cell: Cell) -> tuple:
    return (len(cell.people), sorted(abs(v) for v in cell.values.values()), cell.key)


def group_is_safe(
    group: Group, cells: Mapping[str, Cell], hidden: Mapping[str, str], minimum: int = MINIMUM
) -> bool:
    """Rules (a) and (b) for one group (true when nothing in it is hidden)."""
    members = [cells[k] for k in group.members]
    gone = [c for c in members if c.key in hidden]
    # A hidden total must not be rebuilt as the sum of its cells.
    if group.total in hidden and any(c.people for c in members) and not any(c.people for c in gone):
        return False
    if not gone:
        return True
    # Checked as if the total were known even when it is hidden: another table with
    # the same total may show all its cells, and so the total.
    total = cells[group.total]
    for name, whole in total.values.items():
        shown = (c.values.get(name, Decimal(0)) for c in members if c.key not in hidden)
        left = whole - sum(shown, Decimal(0))
        if any(c.values.get(name, Decimal(0)) == left for c in gone):
            return False
    union: set[int] = set()
    for c in gone:
        union |= c.people
    return len(union) >= minimum


def suppress(
    cells: Mapping[str, Cell],
    groups: Iterable[Group],
    minimum: int = MINIMUM,
    links: Iterable[Iterable[str]] = (),
) -> dict[str, str]:
    """Every hidden cell's key with why (``SMALL`` or ``WITHHELD``).

    Repeats over all groups until none changes, because a cell hidden for one group
    may be the total of another (a rail's payments head its time-to-pay buckets).
    ``links``: sets of keys that are one figure (mirrors): one hidden hides all.
    """
    groups = list(groups)
    linked = [tuple(keys) for keys in links]
    hidden = primary(cells, minimum)
    changed = True
    while changed:
        changed = False
        for keys in linked:
            if any(k in hidden for k in keys):
                for k in keys:
                    if k not in hidden:
                        hidden[k] = WITHHELD
                        changed = True
        for group in groups:
            while not group_is_safe(group, cells, hidden, minimum):
                candidates = [
                    cells[k] for k in group.members if k not in hidden and cells[k].people
                ]
                if candidates:
                    hidden[min(candidates, key=_order).key] = WITHHELD
                elif group.total not in hidden:
                    hidden[group.total] = WITHHELD
                    changed = True
                    break
                else:
                    break  # everything in it is hidden already
                changed = True
    return hidden


def derived_visible(hidden: Mapping[str, str], *keys: str) -> bool:
    """A rate or median is shown only if every cell it comes from is shown."""
    return not any(k in hidden for k in keys)


def count_visible(n: int, whole: int, minimum: int = MINIMUM) -> bool:
    """Whether a cell's count of ``n`` consultants may be shown beside a total of ``whole``.

    ``whole - n`` is the number of consultants outside the cell: shown only when it
    is nobody or five or more, like every other group of people the report describes.
    """
    if n < minimum or whole < minimum:
        return False
    rest = whole - n
    return rest == 0 or rest >= minimum
