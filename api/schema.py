"""The OpenAPI schema documents every error answer an operation can give, and the headers.

Declared here once for every operation, from what the views really do:

- ``Idempotency-Key`` (request) on each POST an ``IdempotentMixin`` view honours (not
  on the actions it exempts), with the bounds ``api.idempotency`` enforces;
- ``Idempotent-Replayed`` (response) on the answers of those POSTs, sent on a replay;
- ``Retry-After`` (response) on every 429.
"""

from __future__ import annotations

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from api.idempotency import MAX_KEY_LENGTH, IdempotentMixin


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. invalid, not_found, conflict.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Input field -> what is wrong with it.",
    )


ERROR_CODES = {
    "GET": ("400", "401", "403", "404", "429"),
    "POST": ("400", "401", "403", "404", "409", "422", "429"),
    "PATCH": ("400", "401", "403", "404", "409", "429"),
    "PUT": ("400", "401", "403", "404", "409", "429"),
    "DELETE": ("401", "403", "404", "409", "429"),
}


# Printable ASCII, as api.idempotency checks; an empty key (or one of spaces, which HTTP
# trims) is no key: the request runs without one.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]*$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe: the first request with a key runs and its answer is kept; "
        "the same key with the same body and path gets that answer again (with "
        "Idempotent-Replayed: true) and changes nothing; the same key for a different "
        "request is refused with 422 idempotency_key_reused, and 409 idempotency_key_in_use "
        "while the first is still running. Keys belong to the signed-in user. Use a new key "
        f"(a UUID, say) for each new request; up to {MAX_KEY_LENGTH} printable ASCII "
        "characters (empty: no key)."
    ),
)
# The answers a replay can repeat: everything kept, i.e. all but 401, 429 and 5xx.
REPLAYABLE = ["200", "201", "202", "400", "403", "404", "409"]
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=REPLAYABLE,
    description=(
        "true: this is the kept answer to an earlier request with the same Idempotency-Key; "
        "nothing ran again. Absent on a first answer."
    ),
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    {"type": "integer", "minimum": 0},
    OpenApiParameter.HEADER,
    response=["429"],
    description="Seconds to wait before trying again.",
)


def honours_idempotency(view, method: str) -> bool:
    """Whether ``method`` on ``view`` (an action of it) keeps answers by Idempotency-Key."""
    return (
        method == "POST"
        and isinstance(view, IdempotentMixin)
        and getattr(view, "action", None) not in view.idempotency_exempt_actions
    )


class AutoSchema(BaseAutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if honours_idempotency(self.view, self.method):
            parameters += [IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED]
        return [*parameters, RETRY_AFTER]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in ERROR_CODES.get(self.method, ()):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ErrorSerializer, code, direction=direction
                )
        return responses


# --- numbers sent as text ---------------------------------------------------------------


def whole_upto(n: int, *, nonzero: bool = False) -> str:
    """A regex (unanchored) for the whole numbers 0..n, or 1..n; no leading zeros."""
    text = str(n)
    length = len(text)
    alternatives = [] if nonzero else ["0"]
    if length > 1:
        alternatives.append("[1-9]" if length == 2 else f"[1-9]\\d{{0,{length - 2}}}")
    for i, char in enumerate(text):
        digit, lowest = int(char), 1 if i == 0 else 0
        if digit > lowest:
            first = str(lowest) if digit - 1 == lowest else f"[{lowest}-{digit - 1}]"
            rest = length - i - 1
            tail = f"\\d{{{rest}}}" if rest > 1 else "\\d" if rest == 1 else ""
            alternatives.append(text[:i] + first + tail)
    if n > 0 or not nonzero:
        alternatives.append(text)
    return "(?:" + "|".join(dict.fromkeys(alternatives)) + ")"


CENTS = "(?:\\.\\d{1,2})?"
NO_CENTS = "(?:\\.00?)?"
SOME_CENTS = "0\\.(?:0[1-9]|[1-9]\\d?)"  # 0.01 to 0.99


def decimal_pattern(*, max_digits: int, decimal_places: int, positive: bool = False) -> str:
    """What a DRF decimal field reads: digits, a point and at most ``decimal_places`` more.

    drf-spectacular's own pattern also matches "", "-" and ".", which the field refuses.
    """
    whole = max_digits - decimal_places
    places = f"(?:\\.\\d{{1,{decimal_places}}})?" if decimal_places else ""
    if not positive:
        return f"^-?\\d{{1,{whole}}}{places}$"
    assert decimal_places == 2, "more than zero is written for cents"
    return f"^(?:[1-9]\\d{{0,{whole - 1}}}{places}|{SOME_CENTS})$"


def amount_pattern(most: int) -> str:
    """Dollars and cents, more than zero and at most ``most``."""
    below = f"{whole_upto(most - 1, nonzero=True)}{CENTS}"
    return f"^(?:{below}|{SOME_CENTS}|{most}{NO_CENTS})$"


def quarter_hours_pattern(most: int) -> str:
    """Quarter hours, more than zero and at most ``most`` (a whole number of hours)."""
    quarter = "(?:\\.(?:00?|25|50?|75))?"
    below = f"{whole_upto(most - 1, nonzero=True)}{quarter}" if most > 1 else None
    parts = ["0\\.(?:25|50?|75)", *([below] if below else []), f"{most}{NO_CENTS}"]
    return f"^(?:{'|'.join(parts)})$"


def whole_count_pattern(most: int) -> str:
    """A whole count from 1 to ``most`` (written 3, 3.0 or 3.00)."""
    return f"^{whole_upto(most, nonzero=True)}{NO_CENTS}$"


class DecimalTextExtension(OpenApiSerializerFieldExtension):
    """Decimal fields sent as text: the pattern the field really reads, in requests."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if (
            direction == "request"
            and schema.get("type") == "string"
            and field.max_digits is not None
            and field.decimal_places is not None
        ):
            positive = field.min_value is not None and field.min_value > 0
            pattern = decimal_pattern(
                max_digits=field.max_digits,
                decimal_places=field.decimal_places,
                positive=positive,
            )
            # A nullable decimal field reads "" as null.
            schema["pattern"] = f"^(?:{pattern[1:-1]})?$" if field.allow_null else pattern
        return schema


# --- text ---------------------------------------------------------------------------------

# What DRF's CharField refuses in any text: NUL (PostgreSQL cannot store it). (It also
# refuses lone surrogates, which JSON text from a conforming encoder never holds.)
TEXT_CHAR = "[^\\x00]"
# A field that may not be blank is trimmed first: it needs one character that is not space.
VISIBLE_CHAR = "[^\\s\\x00]"


class TextExtension(OpenApiSerializerFieldExtension):
    """Text fields in requests: the characters DRF's CharField takes, and not only spaces
    where it may not be blank (it trims before it checks)."""

    target_class = "api.serializers.common.StrictCharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction == "request" and schema.get("type") == "string" and "pattern" not in schema:
            if field.allow_blank or not field.trim_whitespace:
                schema["pattern"] = f"^{TEXT_CHAR}*$"
            else:
                schema["pattern"] = f"^{TEXT_CHAR}*{VISIBLE_CHAR}{TEXT_CHAR}*$"
        return schema


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'A personal API token, sent as "Token hon_...".',
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "browserSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def shared_headers(result, generator, request, public):
    """Postprocessing hook: each documented response header once, in components/headers.

    drf-spectacular writes a header out on every response that sends it; the same text
    on some 300 answers says nothing more than one ``$ref`` to it. The same for the
    ``Idempotency-Key`` parameter, in components/parameters.
    """
    key = {
        "in": "header",
        "name": IDEMPOTENCY_KEY.name,
        "schema": IDEMPOTENCY_KEY.type,
        "description": IDEMPOTENCY_KEY.description,
    }
    headers = {}
    for parameter in (IDEMPOTENT_REPLAYED, RETRY_AFTER):
        headers[parameter.name] = {
            "schema": parameter.type,
            "description": parameter.description,
        }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            operation["parameters"] = [
                {"$ref": "#/components/parameters/IdempotencyKey"}
                if parameter == key
                else parameter
                for parameter in operation.get("parameters", [])
            ]
            if not operation["parameters"]:
                del operation["parameters"]
            for response in operation.get("responses", {}).values():
                for name, header in response.get("headers", {}).items():
                    if header == headers.get(name):
                        response["headers"][name] = {"$ref": f"#/components/headers/{name}"}
    result.setdefault("components", {})["headers"] = headers
    result["components"]["parameters"] = {"IdempotencyKey": key}
    return result
