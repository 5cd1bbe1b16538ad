"""The sandbox's in-memory Stripe, one module per resource, composed into ``SandboxState``.

``base`` holds the store and the helpers every resource uses; ``accounts`` (with account
links), ``balance``, ``transfers`` (with reversals), ``payouts`` and ``events`` each add
their endpoints and test controls as a mixin.
"""

from .accounts import AccountsMixin
from .balance import BalanceMixin
from .base import SOURCE_TYPES, RequestContext, StateBase, new_id
from .events import EventsMixin
from .payouts import PAYOUT_FAILURES, PayoutsMixin
from .transfers import TransfersMixin


class SandboxState(
    AccountsMixin, BalanceMixin, TransfersMixin, PayoutsMixin, EventsMixin, StateBase
):
    """Everything the sandbox's Stripe holds, behind one lock (``self.lock``)."""


__all__ = ["PAYOUT_FAILURES", "SOURCE_TYPES", "RequestContext", "SandboxState", "new_id"]
