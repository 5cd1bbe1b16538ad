"""The consultant's own payments, and their direct-deposit setup with Stripe.

A consultant sees only their own payments, in neutral words; pages are never
cached, so nothing can be shown again from a shared device's cache.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import consultant_required
from consultants.models import PayoutMethod
from core.errors import DomainError, ValidationFailed
from payments import selectors
from payments.stripe import accounts as stripe_accounts
from portal.selectors import DepositState, deposit_state

PAGE_SIZE = 50


def _onboarding(consultant):
    """What the direct-deposit box says: None when the consultant is paid another way."""
    if consultant.payout_method != PayoutMethod.STRIPE:
        return None
    account = selectors.stripe_account_of(consultant)
    state = deposit_state(account)
    box = {
        "state": state,
        "step": DepositState.STEP[state],
        "started": account is not None,
        # Resume (or start) only when there is something for the consultant to do.
        "can_act": state
        in (DepositState.NOT_STARTED, DepositState.STARTED, DepositState.NEEDS_ATTENTION),
    }
    if account is None:
        # Where they are decides Stripe's agreement; asked once, before the account exists.
        box["countries"] = stripe_accounts.allowed_countries()
        box["country"] = settings.STRIPE_PLATFORM_COUNTRY
    return box


@never_cache
@consultant_required
def my_payments(request):
    return _payments_page(request)


def _payments_page(request, *, country_error=None, status=200):
    consultant = request.consultant
    # Stripe sends the person back here after set-up (return) or when its link
    # expired (refresh); the account's state arrives by webhook, not from this request.
    # What the box says comes only from the stored, webhook-driven state, so coming
    # back from Stripe and reloading say the same; an expired link only asks to resume.
    back_from_stripe = request.GET.get("stripe")
    if back_from_stripe == "refresh":
        messages.info(request, _("That set-up link expired. Press “Resume setup” to continue."))
    page = Paginator(selectors.payments_of(consultant), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for payment in page.object_list:
        selectors.split_items(payment)
        rows.append(
            {
                "p": payment,
                "status": selectors.consultant_status(payment),
                "date": selectors.payment_date(payment),
            }
        )
    return render(
        request,
        "portal/payments.html",
        {
            "consultant": consultant,
            "page": page,
            "rows": rows,
            "onboarding": _onboarding(consultant),
            "country_error": country_error,
            "back_from_stripe": back_from_stripe == "return",
        },
        status=status,
    )


@never_cache
@consultant_required
@require_POST
def stripe_onboarding(request):
    """Start or resume direct-deposit setup: off to the link Stripe gives for this person."""
    consultant = request.consultant
    if consultant.payout_method != PayoutMethod.STRIPE:
        messages.info(
            request,
            _("Choose direct deposit in your preferences first, then set it up here."),
        )
        return redirect("portal:payments")
    try:
        url = stripe_accounts.stripe_onboarding_link(
            consultant=consultant, by=request.user, country=request.POST.get("country")
        )
    except DomainError as exc:
        if isinstance(exc, ValidationFailed) and exc.field == "country":
            # Nothing was created: the same page again, the message beside the choice.
            return _payments_page(request, country_error=exc.message, status=exc.status)
        messages.error(request, exc.message)
        return redirect("portal:payments")
    return HttpResponseRedirect(url)
