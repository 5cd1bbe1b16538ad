"""/healthz, /readyz and /metrics: for load balancers and monitors, never for people."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ops.health import readiness
from ops.metrics import registry


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers. No database, no cache: a restart is the only cure for a no."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Whether this process can serve: 200 (ok or degraded) or 503, with each check."""
    status, body = readiness()
    return JsonResponse(body, status=status)


def _token_ok(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        offered.strip().encode(), expected.encode()
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, read from the database at scrape time (when enabled)."""
    if not settings.METRICS_ENABLED:
        raise Http404
    if not _token_ok(request):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
