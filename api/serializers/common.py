from __future__ import annotations

from django.db import models
from rest_framework import serializers

from core.numbers import AsciiDecimalSerializerField

MONEY = {"max_digits": 12, "decimal_places": 2, "coerce_to_string": True}


class Money(AsciiDecimalSerializerField):
    def __init__(self, **kwargs):
        for key, value in MONEY.items():
            kwargs.setdefault(key, value)
        super().__init__(**kwargs)


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
