"""Reading numbers people type: ASCII digits only, parsed inside the error handling.

``Decimal`` and Django/DRF decimal fields read any Unicode digit (Arabic-Indic or full-width ones)
as if it were 0-9; Honora refuses them with a message instead of guessing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

ASCII_DIGITS_MESSAGE = gettext_lazy("Use the digits 0-9.")


def has_other_digits(value: object) -> bool:
    """Whether the text of ``value`` holds a digit that is not one of 0-9."""
    if not isinstance(value, str):
        return False
    return any(ch.isnumeric() and not ch.isascii() for ch in value)


def size_at_least(value: Decimal, limit: Decimal) -> bool:
    """``abs(value) >= limit`` for any finite Decimal, without rounding (so never raises).

    ``abs()`` rounds to the context and raises Overflow for 1e999999999;
    ``copy_abs`` and comparisons are exact.
    """
    return value.copy_abs() >= limit


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from ``value`` (not a float), or None; never raises."""
    if isinstance(value, float) or value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        return None
    return result if result.is_finite() else None


class AsciiDecimalField(forms.DecimalField):
    """A form decimal field that refuses digits other than 0-9."""

    def to_python(self, value: Any) -> Any:
        if has_other_digits(value):
            raise forms.ValidationError(_("Use the digits 0-9."), code="digits")
        return super().to_python(value)


class AsciiDecimalSerializerField(serializers.DecimalField):
    """An API decimal field that refuses digits other than 0-9."""

    def to_internal_value(self, data: Any) -> Decimal:
        if has_other_digits(data):
            raise serializers.ValidationError(_("Use the digits 0-9."), code="digits")
        return super().to_internal_value(data)
