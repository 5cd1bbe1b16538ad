"""Money arithmetic for contributions: Decimal only, rounded half up to cents."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from engagements.models import Contribution, Rate, RateCard

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


RATE_KIND_FOR = {
    Contribution.Kind.HOURS: Rate.Kind.HOURLY,
    Contribution.Kind.HONORARIUM: Rate.Kind.FLAT,
}


def rate_in_force(*, rate_card: RateCard, activity: str, kind: str, on: date) -> Rate | None:
    """The rate of ``rate_card`` for ``activity`` on day ``on``.

    A rate for the activity itself wins over the card's general rate; among
    those, the one that took effect last on or before ``on``.
    """
    candidates = (
        Rate.objects.filter(
            rate_card=rate_card, kind=kind, activity__in=[activity, ""], effective_from__lte=on
        )
        .order_by("-effective_from")
        .only("id", "activity", "amount", "effective_from", "kind")
    )
    specific = general = None
    for rate in candidates:
        if rate.activity == activity and specific is None:
            specific = rate
        elif rate.activity == "" and general is None:
            general = rate
        if specific:
            break
    return specific or general
