"""Error reports to Sentry (sentry-sdk) when SENTRY_DSN is set, with personal data removed.

Personal data is off (``data_collection``: no user, cookies, headers, bodies, query
strings, SQL parameters or local variables; the successor of ``send_default_pii=False``),
request bodies are never read, and ``scrub`` runs on every event before it leaves the process: it keeps
the request's method and path only (no body, query string, cookies or headers),
no user but an anonymous marker, no frame variables, no breadcrumb data, and masks
e-mail addresses, taxpayer-id-like numbers and database "Key (...)=(...)" details
in every message left.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# US taxpayer ids (SSN/ITIN 123-45-6789, EIN 12-3456789) and bare runs of 9 digits.
TAXPAYER_ID = re.compile(r"\b(?:\d{3}-\d{2}-\d{4}|\d{2}-\d{7}|\d{9})\b")
# PostgreSQL's integrity errors quote the values: DETAIL: Key (email)=(a@b.org) ...
DB_KEY_DETAIL = re.compile(r"(Key \([^)]*\)=)\([^)]*\)")
MASK = "[redacted]"


def mask(text: str) -> str:
    text = DB_KEY_DETAIL.sub(lambda m: f"{m.group(1)}({MASK})", text)
    text = EMAIL.sub(MASK, text)
    return TAXPAYER_ID.sub(MASK, text)


def _frames(container: dict[str, Any] | None) -> None:
    stacktrace = (container or {}).get("stacktrace") or {}
    for frame in stacktrace.get("frames") or []:
        frame.pop("vars", None)


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        kept = {"method": request.get("method"), "url": request.get("url")}
        if isinstance(kept["url"], str):
            kept["url"] = kept["url"].split("?", 1)[0]
        event["request"] = {k: v for k, v in kept.items() if v}
    if "user" in event:
        event["user"] = {}
    event.pop("extra", None)
    for key in ("exception", "threads"):
        for value in (event.get(key) or {}).get("values") or []:
            _frames(value)
            if isinstance(value.get("value"), str):
                value["value"] = mask(value["value"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        if isinstance(logentry.get("message"), str):
            logentry["message"] = mask(logentry["message"])
        logentry.pop("params", None)
        if isinstance(logentry.get("formatted"), str):
            logentry["formatted"] = mask(logentry["formatted"])
    if isinstance(event.get("message"), str):
        event["message"] = mask(event["message"])
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    for crumb in values or []:
        crumb.pop("data", None)
        if isinstance(crumb.get("message"), str):
            crumb["message"] = mask(crumb["message"])
    return event


def init(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        # What integrations collect at all (this supersedes send_default_pii, which
        # sentry-sdk 2.x deprecates and which defaults to off): no user, cookies,
        # headers, bodies, query strings, SQL parameters or frame variables.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "off"}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,  # type: ignore[arg-type]
        before_send_transaction=scrub,  # type: ignore[arg-type]
    )
