"""Which rate applies to a contribution (amounts are rounded by ``core.money``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from engagements.models import Contribution, Rate, RateCard

QUARTER = Decimal("0.25")  # hours are logged in quarter hours


# Keyed by str: a contribution's ``kind`` attribute is typed str, and a Kind equals its value.
RATE_KIND_FOR: dict[str, Rate.Kind] = {
    Contribution.Kind.HOURS: Rate.Kind.HOURLY,
    Contribution.Kind.HONORARIUM: Rate.Kind.FLAT,
}


def pick_rate(rates: Iterable[Rate], *, activity: str, kind: str, on: date) -> Rate | None:
    """The rate in force for ``activity`` on day ``on``, from rates already loaded.

    The one rule for which rate applies: a rate for the activity itself wins
    over the card's general rate (blank activity); among those, the one that
    took effect last on or before ``on``. ``rates`` may hold other kinds,
    activities and dates (and, for one card, nothing else): they are skipped.
    """
    best, best_key = None, None
    for rate in rates:
        if rate.kind != kind or rate.effective_from > on or rate.activity not in ("", activity):
            continue
        key = (rate.activity == activity, rate.effective_from)
        if best_key is None or key > best_key:
            best, best_key = rate, key
    return best


def rate_in_force(*, rate_card: RateCard, activity: str, kind: str, on: date) -> Rate | None:
    """The rate of ``rate_card`` for ``activity`` on day ``on`` (one query; see ``pick_rate``)."""
    candidates = Rate.objects.filter(
        rate_card=rate_card, kind=kind, activity__in=[activity, ""], effective_from__lte=on
    ).only("id", "activity", "amount", "effective_from", "kind")
    return pick_rate(candidates, activity=activity, kind=kind, on=on)
