"""Money and hours as people read them, on every page: ``{% load honora %}``.

The one implementation of these filters. ``coordination`` (coordinator and
finance pages) and ``portal`` (the consultant's portal) are older names of this
same library, kept so templates that load them keep working.
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import ngettext

from core.history import plain_number
from core.money import format_money

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """An amount as pages write it (see ``core.money.format_money``)."""
    return format_money(value, currency)


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
