"""Money and hours as people read them, on every page: ``{% load honora %}``.

The one implementation of these filters. ``coordination`` (coordinator and
finance pages) and ``portal`` (the consultant's portal) are older names of this
same library, kept so templates that load them keep working.
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import ngettext

from accounts.history import plain_number

register = template.Library()

SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def money(value, currency: str = "") -> str:
    """Decimal('1234.5') -> '$1,234.50'; -5 -> a minus sign, then '$5.00'; nothing -> '—'.

    ``currency`` (an ISO code) defaults to the site's; one without a symbol
    here is written after the number: '1,234.50 CHF'.
    """
    if value is None or value == "":
        return "—"
    currency = (currency or settings.CURRENCY).upper()
    amount = Decimal(value)
    text = number_format(abs(amount), 2, use_l10n=True, force_grouping=True)
    sign = "−" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


@register.filter
def hours(value) -> str:
    """A quantity as people write it: Decimal('2.50') -> '2.5' (pages add the unit)."""
    if value is None or value == "":
        return "—"
    return plain_number(Decimal(value))


@register.filter
def hours_label(value) -> str:
    """Decimal('2.50') -> '2.5 hours'; Decimal('1') -> '1 hour'."""
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    return ngettext("%(n)s hour", "%(n)s hours", 1 if value == 1 else 2) % {
        "n": plain_number(value)
    }


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
