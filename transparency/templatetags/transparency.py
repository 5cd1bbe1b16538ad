"""A report figure as the page writes it: its value, or why it is not shown."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.money import format_money

register = template.Library()


def _hidden(fig: dict[str, Any]) -> str | None:
    if fig.get("suppressed") == "fewer_than_5":
        return _("fewer than 5")
    if fig.get("suppressed"):
        return _("not shown")
    return None


def _show(fig: dict[str, Any] | None, text) -> str:
    if fig is None:
        return "—"
    hidden = _hidden(fig)
    if hidden:
        return format_html('<span class="suppressed">{}</span>', hidden)
    if fig.get("value") is None:
        return "—"
    return text(fig["value"])


@register.filter
def fig_money(fig, currency: str = ""):
    return _show(fig, lambda v: format_money(v, currency))


@register.filter
def fig_number(fig):
    return _show(fig, lambda v: str(v))


@register.filter
def fig_hours(fig):
    return _show(fig, lambda v: str(v).rstrip("0").rstrip(".") if "." in str(v) else str(v))


@register.filter
def iso_day(value):
    """A date as the JSON holds it ("2026-11-29"), back to a date for ``|date``."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return value
