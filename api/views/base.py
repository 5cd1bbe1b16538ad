from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import viewsets

from api.exceptions import error_body
from api.idempotency import IdempotentMixin


class HonoraViewSet(IdempotentMixin, viewsets.GenericViewSet):
    """Every API view set: idempotent POSTs, lookups by opaque public id."""

    lookup_field = "public_id"
    lookup_value_regex = "[0-9a-f-]{36}"
    http_method_names = ["get", "post", "patch", "head", "options"]


@csrf_exempt
def not_found(request, *args, **kwargs):
    """JSON 404 for paths under /api/v1/ that name nothing."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)
