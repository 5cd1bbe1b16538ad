"""Honora's local Stripe-compatible server for tests and the offline demo (see STRIPE.md).

Nothing here reaches the network: the server listens on 127.0.0.1 and webhooks go only
to the URLs registered with it.
"""

from .clock import SandboxClock
from .control import SandboxControl
from .errors import ApiError
from .faults import API_FAULTS, WEBHOOK_FAULTS, FaultPlan, FaultRule
from .server import SandboxServer
from .state import PAYOUT_FAILURES
from .webhooks import WebhookDispatcher, sign

__all__ = [
    "API_FAULTS",
    "PAYOUT_FAILURES",
    "WEBHOOK_FAULTS",
    "ApiError",
    "FaultPlan",
    "FaultRule",
    "SandboxClock",
    "SandboxControl",
    "SandboxServer",
    "WebhookDispatcher",
    "sign",
]
