"""Money: ``Decimal`` with two places, one rounding rule and one way to write it.

Pages, PDFs, CSV files and history sentences all write amounts through
``format_money``; every amount Honora computes is rounded by ``round_money``.
Integer cents exist only at the Stripe boundary (``payments.stripe.provider``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TypedDict

from django.conf import settings
from django.utils.formats import number_format

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# Money columns: wide enough for any sum of accepted amounts.
class MoneyFieldOptions(TypedDict):
    max_digits: int
    decimal_places: int


MONEY_FIELD: MoneyFieldOptions = {"max_digits": 12, "decimal_places": 2}
# The smallest amount a money column cannot hold. With the bounds in core.limits
# (an entry 10,000, a payment 50,000, a batch 5,000,000) no accepted sum comes near.
COLUMN_LIMIT = Decimal(10) ** (MONEY_FIELD["max_digits"] - MONEY_FIELD["decimal_places"])

SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "EUR": "€", "GBP": "£"}


# Wide enough that adding up any number of column values is exact, with every
# signal off: summing never raises (Overflow, InvalidOperation) whatever it is given.
WIDE = Context(prec=200, Emax=10**6, Emin=-(10**6), traps=[])


def sum_money(values: Iterable[Decimal | None]) -> Decimal:
    """The exact sum of ``values`` (None counts as nothing), computed so it never raises."""
    total = ZERO
    for value in values:
        if value is not None:
            total = WIDE.add(total, Decimal(value))
    return total


def round_money(value: Decimal) -> Decimal:
    """``value`` rounded half up to cents (the one rounding rule for amounts)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | float | str | None, currency: str = "") -> str:
    """Decimal('1234.5') -> '$1,234.50'; -5 -> a minus sign, then '$5.00'; nothing -> '—'.

    ``currency`` (an ISO code) defaults to the site's; one without a symbol here
    is written after the number: '1,234.50 CHF'.
    """
    if value is None or value == "":
        return "—"
    currency = (currency or settings.CURRENCY).upper()
    amount = Decimal(value)
    text = number_format(abs(amount), 2, use_l10n=True, force_grouping=True)
    sign = "−" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def plain_amount(value: Decimal) -> str:
    """An amount as data, for CSV files and the API: '1234.50' (no symbol, no grouping)."""
    return f"{value:.2f}"
