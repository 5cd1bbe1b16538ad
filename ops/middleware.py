"""Every request gets an id: in the logs of the request and of the tasks it starts.

An ``X-Request-ID`` sent by the load balancer or proxy is kept when it looks like an
id (``core.request_id.REQUEST_ID_PATTERN``); anything else is replaced by a fresh
one, so a client cannot write arbitrary text into the logs. The id is sent back on
the response.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.request_id import is_valid_request_id, request_id_var

HEADER = "X-Request-ID"


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get(HEADER)
    return offered if offered and is_valid_request_id(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        # Left set until the response is closed (``clear_request_id``): Django logs
        # "Not Found" and server errors after the middlewares have returned.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def clear_request_id(sender: object, **kwargs: object) -> None:
    """``request_finished``: the thread serves no request any more."""
    request_id_var.set(None)
