from __future__ import annotations

import functools
import types
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core.numbers import AsciiDecimalSerializerField

MONEY = {"max_digits": 12, "decimal_places": 2, "coerce_to_string": True}


class Money(AsciiDecimalSerializerField):
    def __init__(self, **kwargs):
        for key, value in MONEY.items():
            kwargs.setdefault(key, value)
        super().__init__(**kwargs)


_CALLED = (types.MethodType, types.FunctionType, functools.partial)


# A mixin, so no docstring: drf-spectacular would make it every schema's description.
# ``to_representation`` for list rows without DRF's per-field, per-row lookups.
#
# DRF's ``Field.get_attribute`` inspects every value's signature to decide whether to
# call it; on a page of 50 rows with nested items that is most of the serializer's
# time. Here each readable field's source path is resolved once per serializer and
# walked with plain ``getattr``; every value is still formatted by the field's own
# ``to_representation``, and a missing or ``None`` step ends as DRF's would (the
# field's default, ``None``, or the field left out). ``tests/api/test_list_costs.py``
# proves the output equal to DRF's for the serializers that use it.
class Flat:
    @cached_property
    def _flat_plan(self) -> list[tuple[str, tuple[str, ...] | None, serializers.Field]]:
        # None: a field with its own get_attribute, which is asked as DRF would.
        return [
            (
                field.field_name,
                tuple(field.source_attrs)
                if type(field).get_attribute is serializers.Field.get_attribute
                else None,
                field,
            )
            for field in self._readable_fields  # type: ignore[attr-defined]
        ]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        ret: dict[str, Any] = {}
        for name, attrs, field in self._flat_plan:
            if attrs is None:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                ret[name] = None if value is None else field.to_representation(value)
                continue
            value = instance
            try:
                for attr in attrs:
                    try:
                        value = getattr(value, attr)
                    except ObjectDoesNotExist:
                        value = None
                        break
                    if isinstance(value, _CALLED):
                        value = value()
            except AttributeError:
                if field.default is not empty:
                    value = field.get_default()
                elif field.allow_null:
                    value = None
                elif not field.required:
                    continue
                else:
                    raise
            ret[name] = None if value is None else field.to_representation(value)
        return ret


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true or false: 0, "yes" or "1" are errors, not guesses."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """Text must be sent as text: 0 is not "0"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }


class ReasonSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000, help_text="Why; kept in the history.")


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)


class HistoryEntrySerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField()
    role = serializers.CharField(allow_blank=True)
    action = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    changes = HistoryChangeSerializer(many=True)
    sentence = serializers.CharField()
