"""One place that builds ``stripe.StripeClient`` from settings.

Each thread keeps its own client (and so its own HTTP keep-alive session) per
configuration, so a worker does not open a new connection for every payment.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests
import stripe
from django.conf import settings

_local = threading.local()

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class StripeNotConfigured(Exception):
    """Stripe is off (no STRIPE_SECRET_KEY) or its settings cannot be used."""


def stripe_enabled() -> bool:
    return bool(getattr(settings, "STRIPE_ENABLED", False) and settings.STRIPE_SECRET_KEY)


def stripe_client(
    *, max_network_retries: int | None = None, timeout: float | None = None
) -> stripe.StripeClient:
    """A client for the configured Stripe (the local sandbox in development)."""
    if not stripe_enabled():
        raise StripeNotConfigured("Stripe is not configured (STRIPE_SECRET_KEY is empty).")
    retries = (
        settings.STRIPE_MAX_NETWORK_RETRIES if max_network_retries is None else max_network_retries
    )
    timeout = settings.STRIPE_TIMEOUT if timeout is None else timeout
    config = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, int(retries), float(timeout))
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    if config not in clients:
        clients[config] = _build(*config)
    return clients[config][0]


def stripe_client_for(
    *, api_key: str, api_base: str, max_network_retries: int = 0, timeout: float = 30.0
) -> stripe.StripeClient:
    """A client for another key or address than the settings' (``manage.py stripe_smoke``),
    built as ``stripe_client`` builds its own."""
    return _build(api_key, api_base, max_network_retries, timeout)[0]


def _build(
    api_key: str, base: str, retries: int, timeout: float
) -> tuple[stripe.StripeClient, requests.Session]:
    session = requests.Session()
    # The local sandbox is on loopback: never send it through a proxy from the environment.
    session.trust_env = (urlsplit(base).hostname or "") not in LOOPBACK
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": base, "connect": base, "files": base, "meter_events": base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout, session=session),
    )
    return client, session


def reset_clients() -> None:
    """Close and forget this thread's clients."""
    for _client, session in getattr(_local, "clients", {}).values():
        session.close()
    _local.clients = {}
