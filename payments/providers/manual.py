"""Check, prepaid card, gift card and cash: finance hands the money over and records it.

Nothing is sent anywhere; ``payments.services.finance.payment_record_manual`` records the
hand-over, ``payment_void`` undoes one that did not happen, and
``payment_mark_returned`` takes back a returned check.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .base import PaymentProvider, ProviderError


class ManualProvider(PaymentProvider):
    identifier = "manual"
    verbose_name = gettext_lazy("Manual (check, card or cash)")

    def prepare(self, payment, attempt_number: int, *, account=None) -> dict:
        raise ProviderError(
            _("A manual payment is recorded by finance when it is handed over."),
            kind=ProviderError.REFUSED,
            code="manual_method",
        )

    def execute(self, payment, attempt):
        return self.prepare(payment, attempt.number)
