"""``Idempotency-Key`` for every POST that creates something or changes a state.

The whole request runs in one transaction with its record: the first request
with a key inserts the record (the unique constraint makes a concurrent twin
wait, then replay), runs, and stores its answer; a retry with the same key and
the same body gets that answer back with ``Idempotent-Replayed: true``; the
same key with a different body or path is refused.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac
from rest_framework.response import Response

from api.exceptions import error_body
from api.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


def _request_hash(request) -> str:
    # Keyed, so a stored hash cannot be matched against guessed bodies: a body may
    # carry a taxpayer id (nine digits are quickly tried against a plain SHA-256).
    message = b"\0".join([request.method.encode(), request.path.encode(), request.body or b""])
    return salted_hmac("honora.api.idempotency", message, algorithm="sha256").hexdigest()


class IdempotentMixin:
    """For DRF views: wraps POSTs that carry an Idempotency-Key.

    Actions named in ``idempotency_exempt_actions`` run afresh every time: their
    answer must not be kept (a revealed taxpayer id), and each run is recorded.
    """

    idempotency_exempt_actions: frozenset[str] = frozenset()

    def dispatch(self, request, *args, **kwargs):
        key = request.META.get(HEADER)
        if request.method != "POST" or not key:
            return super().dispatch(request, *args, **kwargs)
        self._idempotency = {"key": key, "hash": _request_hash(request)}
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        info = getattr(self, "_idempotency", None)
        if info is None:
            return
        if getattr(self, "action", None) in self.idempotency_exempt_actions:
            self._idempotency = None
            return
        key = info["key"]
        if len(key) > MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
            raise _Answer(
                Response(
                    error_body(
                        "invalid_idempotency_key",
                        "The Idempotency-Key must be 1 to 255 printable ASCII characters.",
                    ),
                    status=400,
                )
            )
        existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if existing is not None:
            raise _Answer(self._replay(existing, info["hash"], request.path))
        try:
            with transaction.atomic():
                info["record"] = IdempotencyRecord.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:512],
                    request_hash=info["hash"],
                    status_code=0,
                )
        except IntegrityError:
            # A twin request with this key committed while we waited: replay its answer.
            existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if existing is None:
                raise
            raise _Answer(self._replay(existing, info["hash"], request.path)) from None

    def handle_exception(self, exc):
        if isinstance(exc, _Answer):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        info = getattr(self, "_idempotency", None)
        record = info and info.get("record")
        if record is not None and response.status_code < 500:
            # Throttled and unauthenticated answers are not stored (like Stripe).
            if response.status_code in (401, 429):
                record.delete()
            else:
                record.status_code = response.status_code
                record.response_json = json.dumps(
                    getattr(response, "data", None), cls=DjangoJSONEncoder
                )
                record.save(update_fields=["status_code", "response_json"])
        return response

    def _replay(self, record, request_hash, path):
        if record.request_hash != request_hash or record.path != path[:512]:
            return Response(
                error_body(
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request.",
                ),
                status=422,
            )
        if record.status_code == 0:
            return Response(
                error_body(
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still running.",
                ),
                status=409,
            )
        body = json.loads(record.response_json) if record.response_json else None
        response = Response(body, status=record.status_code)
        response["Idempotent-Replayed"] = "true"
        return response


class _Answer(Exception):
    def __init__(self, response):
        super().__init__("idempotent answer")
        self.response = response
