"""One JSON shape for every API error: ``{"code", "message", "fields"}``.

``code`` is machine-readable, ``message`` is for people, ``fields`` names the
input that was wrong (field -> list of messages). Domain errors keep their
status: 400 invalid input, 403 not allowed, 409 state conflict.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        fields = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _flatten(value).items():
                    fields[f"{key}.{sub}"] = messages
            elif isinstance(value, list):
                flat = []
                for item in value:
                    if isinstance(item, dict):
                        for sub, messages in _flatten(item).items():
                            fields[f"{key}.{sub}"] = messages
                    else:
                        flat.append(str(item))
                if flat:
                    fields[key] = flat
            else:
                fields[key] = [str(value)]
        return fields
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


# Refusals about the records already there, not about the request: the same well-formed
# body may be accepted once the state changes (nothing approved is left to pay; the day's
# hours across entries are full; the engagement's hours cap is reached; the payment's rail
# is not the one this action is for). Pages show them on their form (400); the API answers
# 409 Conflict, as for every state conflict, so a request the schema allows is never a
# 400 for them.
STATE_CODES = frozenset({"nothing_to_pay", "hours_per_day", "hours_cap", "wrong_rail"})


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        code = status.HTTP_409_CONFLICT if exc.code in STATE_CODES else exc.status
        return Response(error_body(exc.code, exc.message, fields), status=code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, IntegrityError):
        # A constraint caught what validation did not (a race, usually).
        return Response(
            error_body("conflict", "This conflicts with a change made at the same time."),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, RequestDataTooBig):
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE before it is parsed.
        exc = exceptions.ParseError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(detail)
        first = next(iter(fields.values()), ["Invalid input."])[0]
        body = error_body("invalid", first, fields)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if hasattr(exc, "get_codes") else exc.default_code
        if not isinstance(code, str):
            code = exc.default_code
        message = str(detail) if detail is not None else str(exc.default_detail)
        body = error_body(code, message)
    else:  # pragma: no cover - DRF only hands APIExceptions here
        body = error_body("error", "Something went wrong.")
    response.data = body
    return response
