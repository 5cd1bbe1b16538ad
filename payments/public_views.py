"""The public check of a receipt: anyone holding one can confirm it is genuine.

No sign-in. It says what the receipt states about the money (number, dates,
amount, status) and never who was paid. An unknown or malformed code is a plain
"not found". Requests are counted per address in the shared cache, so the codes
cannot be guessed at speed.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from rest_framework.throttling import BaseThrottle

from income.selectors import letter_verify
from payments.documents.receipts import receipt_verify


def _over_limit(request) -> bool:
    """A fixed one-minute window per client address (shared by every web node)."""
    limit = getattr(settings, "RECEIPT_VERIFY_PER_MINUTE", 30)
    window = int(time.time() // 60)
    # The client's address as the API's rate limits read it: behind
    # TRUSTED_PROXY_COUNT proxies of ours, from X-Forwarded-For; else REMOTE_ADDR.
    key = f"honora:verify:{BaseThrottle().get_ident(request)}:{window}"
    cache.add(key, 0, 90)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 90)
        count = 1
    return count > limit


@never_cache
@require_safe
def verify(request, code):
    if _over_limit(request):
        response = render(request, "payments/verify_busy.html", status=429)
        response["Retry-After"] = "60"
        return response
    check = receipt_verify(code)
    if check is None:
        # The same route checks income letters (their codes are made the same way).
        letter = letter_verify(code)
        if letter is not None:
            return render(request, "income/verify_letter.html", {"check": letter})
        return render(request, "payments/verify_not_found.html", status=404)
    return render(request, "payments/verify.html", {"check": check})
