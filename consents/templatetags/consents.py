"""The consent ledger's words on pages: a standing's label."""

from __future__ import annotations

from django import template

from consents.models import Standing

register = template.Library()


@register.filter
def standing_label(value: str) -> str:
    return str(dict(Standing.choices).get(value, value))
