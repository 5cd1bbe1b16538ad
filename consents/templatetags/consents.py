"""The consent ledger's words on pages: a standing's label, and the home page's notice."""

from __future__ import annotations

from django import template

from consents.models import Standing
from consents.selectors import pending_count

register = template.Library()


@register.filter
def standing_label(value: str) -> str:
    return str(dict(Standing.choices).get(value, value))


@register.inclusion_tag("portal/_consent_notice.html")
def consent_notice(consultant):
    """One line on the consultant's home page when a request waits for their answer."""
    return {"waiting": pending_count(consultant.pk) if consultant is not None else 0}
