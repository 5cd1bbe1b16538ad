from __future__ import annotations

from decimal import Decimal

from django.utils.functional import cached_property
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from api.serializers.common import Flat, Money, StrictCharField, StrictModelSerializer
from consultants.models import Consultant, TaxForm, VaultReveal
from consultants.selectors import STAFF_HIDDEN_FIELDS
from consultants.services import PREFERENCE_FIELDS
from core.numbers import AsciiDecimalSerializerField


class TotalsSerializer(serializers.Serializer):
    earned = Money(help_text="Approved work, paid or not.")
    pending = Money(help_text="Waiting for approval, estimated at the rates in force.")
    paid = Money()
    owed = Money(help_text="Approved, not paid yet.")
    hours = AsciiDecimalSerializerField(max_digits=9, decimal_places=2, coerce_to_string=True)


class PhaseTotalsSerializer(TotalsSerializer):
    phase = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    month = TotalsSerializer()
    year = TotalsSerializer()
    all_time = TotalsSerializer()
    by_phase = PhaseTotalsSerializer(many=True)


class PreferencesSerializer(StrictModelSerializer):
    """What a consultant controls about themselves."""

    benefits_cap_amount = AsciiDecimalSerializerField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), allow_null=True, required=False
    )

    class Meta:
        model = Consultant
        fields = PREFERENCE_FIELDS


class MeSerializer(PreferencesSerializer):
    public_id = serializers.UUIDField(read_only=True)
    status = serializers.CharField(read_only=True)
    totals = serializers.SerializerMethodField()

    class Meta(PreferencesSerializer.Meta):
        fields = ("public_id", "status", *PREFERENCE_FIELDS, "totals")

    def get_totals(self, obj) -> SummarySerializer:
        summary = self.context["summary"]
        return SummarySerializer(
            {
                "month": summary.month,
                "year": summary.year,
                "all_time": summary.all_time,
                "by_phase": [{"phase": name, **vars(t)} for name, t in summary.by_phase],
            }
        ).data


class ConsultantSerializer(Flat, StrictModelSerializer):
    """Staff view of a consultant: never the identity vault, contact details or own limits.

    The last four digits of the taxpayer id are for finance only (null for others).
    """

    public_id = serializers.UUIDField(read_only=True)
    w9_status = serializers.CharField(source="tax_form.status", read_only=True, default="missing")
    taxpayer_id_last4 = serializers.SerializerMethodField()
    has_account = serializers.SerializerMethodField()

    class Meta:
        model = Consultant
        fields = (
            "public_id",
            "status",
            *(f for f in PREFERENCE_FIELDS if f not in STAFF_HIDDEN_FIELDS),
            "w9_status",
            "taxpayer_id_last4",
            "has_account",
            "created_at",
        )
        read_only_fields = ("status", "created_at")

    def get_has_account(self, obj) -> bool:
        return obj.user_id is not None

    @cached_property
    def _finance(self) -> bool:
        """Whether the caller may read the last four digits: asked once per response."""
        request = self.context.get("request")
        return request is not None and request.user.has_perm("consultants.reveal_vault")

    def get_taxpayer_id_last4(self, obj) -> str | None:
        if not self._finance:
            return None
        form = getattr(obj, "tax_form", None)
        return form.tin_last4 if form else ""


class ConsultantCreateSerializer(PreferencesSerializer):
    """The same fields and bounds as preferences (a benefits limit is more than zero)."""


class RevealRequestSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=VaultReveal.Field.choices)
    reason = StrictCharField(max_length=2000, help_text="Why you need it; recorded.")


class RevealResponseSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField(allow_null=True)


class TaxFormReceiveSerializer(serializers.Serializer):
    """Finance records a W-9 or W-8BEN it received (``consultants.services.taxform_receive``).

    The taxpayer id is write-only: it goes to the encrypted identity vault and only its
    last four digits ever come back. The signed copy is uploaded on the finance pages.
    """

    form_type = serializers.ChoiceField(choices=TaxForm.FormType.choices)
    received_on = serializers.DateField()
    tin = StrictCharField(
        max_length=40,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=(
            "SSN, ITIN or EIN on a W-9 (nine digits; required unless one is on file); the "
            "foreign id, if any, on a W-8BEN. Never returned."
        ),
    )
    reason = StrictCharField(max_length=2000, help_text="Why it is recorded; kept in history.")


class TaxFormHeldSerializer(serializers.Serializer):
    payment = serializers.UUIDField(help_text="The payment's public id.")
    detail = serializers.CharField(help_text="Why it is still held.")


class TaxFormResultSerializer(serializers.Serializer):
    form_type = serializers.CharField()
    status = serializers.CharField()
    received_on = serializers.DateField(allow_null=True)
    taxpayer_id_last4 = serializers.CharField(allow_blank=True)
    has_signed_copy = serializers.BooleanField()
    released_count = serializers.IntegerField(help_text="Held payments this released.")
    released = serializers.ListField(
        child=serializers.UUIDField(), help_text="Public ids of the payments released."
    )
    still_held = TaxFormHeldSerializer(many=True)

    @staticmethod
    def of(result) -> dict:
        form = result.form
        return {
            "form_type": form.form_type,
            "status": form.status,
            "received_on": form.received_on,
            "taxpayer_id_last4": form.tin_last4,
            "has_signed_copy": bool(form.signed_copy),
            "released_count": len(result.released),
            "released": [p.public_id for p in result.released],
            "still_held": [
                {"payment": p.public_id, "detail": detail} for p, detail in result.still_held
            ],
        }


# --- what taxform_receive accepts, form by form (the schema; the view reads the above) ----


def _text_matching(pattern: str, help_text: str, **kwargs) -> serializers.CharField:
    field_class = extend_schema_field({"type": "string", "pattern": pattern})(
        type("TinText", (serializers.CharField,), {})
    )
    return field_class(help_text=help_text, **kwargs)


def _form(form_type: str) -> serializers.Field:
    field_class = extend_schema_field({"type": "string", "enum": [form_type]})(
        type("FormType", (serializers.CharField,), {})
    )
    return field_class()


class _TaxFormBase(serializers.Serializer):
    received_on = serializers.DateField(
        help_text="The day it arrived: not in the future, nor before 2000."
    )
    reason = StrictCharField(max_length=2000, help_text="Why it is recorded; kept in history.")


class W9Receive(_TaxFormBase):
    form_type = _form(str(TaxForm.FormType.W9.value))
    tin = _text_matching(
        r"^(?:\d{9}|\d{3}-\d{2}-\d{4}|\d{2}-\d{7})$",
        "The SSN, ITIN or EIN: nine digits (dashes as printed are fine). The server also "
        "takes it left out when one is already on file. Never returned.",
    )


class W8BenReceive(_TaxFormBase):
    form_type = _form(str(TaxForm.FormType.W8BEN.value))
    tin = _text_matching(
        r"^(?:[A-Za-z0-9-]{4,20})?$",
        "The foreign taxpayer id, if any: 4 to 20 letters, digits or dashes. Never returned.",
        required=False,
        allow_blank=True,
    )


TAX_FORM_RECEIVE_REQUEST = PolymorphicProxySerializer(
    component_name="TaxFormReceive",
    serializers={
        str(TaxForm.FormType.W9.value): W9Receive,
        str(TaxForm.FormType.W8BEN.value): W8BenReceive,
    },
    resource_type_field_name="form_type",
)
