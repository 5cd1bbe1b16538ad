"""The OpenAPI schema documents every error answer an operation can give, and the headers.

Declared here once for every operation, from what the views really do:

- ``Idempotency-Key`` (request) on each POST an ``IdempotentMixin`` view honours (not
  on the actions it exempts), with the bounds ``api.idempotency`` enforces;
- ``Idempotent-Replayed`` (response) on the answers of those POSTs, sent on a replay;
- ``Retry-After`` (response) on every 429.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
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


# Visible ASCII: what any HTTP client sends unchanged (the server takes any printable key
# of 1 to 255 characters; a key that is all spaces is no key, as headers are trimmed).
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]+$",
    },
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe: the first request with a key runs and its answer is kept; "
        "the same key with the same body and path gets that answer again (with "
        "Idempotent-Replayed: true) and changes nothing; the same key for a different "
        "request is refused with 422 idempotency_key_reused, and 409 idempotency_key_in_use "
        "while the first is still running. Keys belong to the signed-in user. Use a new key "
        f"(a UUID, say) for each new request; 1 to {MAX_KEY_LENGTH} visible ASCII characters."
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
