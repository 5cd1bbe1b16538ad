"""Small display helpers for the coordinator pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

from accounts.history import plain_number

register = template.Library()


@register.filter
def money(value) -> str:
    """150 -> '150.00', 1234.5 -> '1,234.50'; nothing -> an em dash."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def hours(value) -> str:
    """Hours as people write them: 2.50 -> '2.5'."""
    if value is None or value == "":
        return "—"
    return plain_number(Decimal(value))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
