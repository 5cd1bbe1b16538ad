"""Where Honora's Stripe platform is, where its consultants may be, and which service
agreement each pairing needs. The one place these rules live.

Stripe's rules (cited so they can be checked again):

- Service agreement types, https://docs.stripe.com/connect/service-agreement-types :
  ``full`` (the default) creates a relationship between Stripe and the account holder;
  ``recipient`` is for cross-border payouts, "cross-border payouts only work with accounts
  under the recipient service agreement", and a recipient account cannot request
  ``card_payments``. A same-country account (above all a US one on a US platform) takes
  the ``full`` agreement.
- Cross-border payouts, https://docs.stripe.com/connect/cross-border-payouts :
  "Platforms based in the US, UK, EEA, Canada, or Switzerland can transfer funds to
  connected accounts in any of those regions"; self-serve cross-border payouts to other
  countries are not offered.
- Capabilities: Honora only pays consultants, so every account asks for ``transfers``
  alone. Under ``recipient`` that is the only capability Stripe allows (no
  ``card_payments``); under ``full`` a transfers-only account is what a platform that does
  not let its accounts take payments asks for.

This module imports nothing from Django but ``gettext_lazy``, so settings can use it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

FULL = "full"
RECIPIENT = "recipient"

# Countries where Stripe offers accounts (https://stripe.com/global): the bounded list a
# platform country is checked against, with the names people choose from.
STRIPE_COUNTRIES = {
    "AE": _("United Arab Emirates"),
    "AT": _("Austria"),
    "AU": _("Australia"),
    "BE": _("Belgium"),
    "BG": _("Bulgaria"),
    "BR": _("Brazil"),
    "CA": _("Canada"),
    "CH": _("Switzerland"),
    "CY": _("Cyprus"),
    "CZ": _("Czech Republic"),
    "DE": _("Germany"),
    "DK": _("Denmark"),
    "EE": _("Estonia"),
    "ES": _("Spain"),
    "FI": _("Finland"),
    "FR": _("France"),
    "GB": _("United Kingdom"),
    "GI": _("Gibraltar"),
    "GR": _("Greece"),
    "HK": _("Hong Kong"),
    "HR": _("Croatia"),
    "HU": _("Hungary"),
    "IE": _("Ireland"),
    "IN": _("India"),
    "IS": _("Iceland"),
    "IT": _("Italy"),
    "JP": _("Japan"),
    "LI": _("Liechtenstein"),
    "LT": _("Lithuania"),
    "LU": _("Luxembourg"),
    "LV": _("Latvia"),
    "MT": _("Malta"),
    "MX": _("Mexico"),
    "MY": _("Malaysia"),
    "NL": _("Netherlands"),
    "NO": _("Norway"),
    "NZ": _("New Zealand"),
    "PL": _("Poland"),
    "PT": _("Portugal"),
    "RO": _("Romania"),
    "SE": _("Sweden"),
    "SG": _("Singapore"),
    "SI": _("Slovenia"),
    "SK": _("Slovakia"),
    "TH": _("Thailand"),
    "US": _("United States"),
}

# The EEA (EU members, Iceland, Liechtenstein, Norway) among Stripe's countries.
_EEA = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE",
    "SI", "SK",
}  # fmt: skip
# Cross-border payouts (https://docs.stripe.com/connect/cross-border-payouts): a platform
# in one of these countries may pay recipient accounts in any other of them.
CROSS_BORDER_COUNTRIES = frozenset({"US", "GB", "CA", "CH", *_EEA})


class CountryRefused(ValueError):
    """Stripe would not open this account for this platform."""


def consultant_countries(platform: str) -> list[str]:
    """The countries a consultant of a platform in ``platform`` may be in, platform first."""
    others = (
        sorted(CROSS_BORDER_COUNTRIES - {platform}) if platform in CROSS_BORDER_COUNTRIES else []
    )
    return [platform, *others]


def service_agreement(*, platform: str, country: str) -> str:
    """``full`` for a same-country account, ``recipient`` for an allowed cross-border one.

    Anything else raises CountryRefused (Honora does not ask Stripe for what it refuses).
    """
    if country == platform:
        return FULL
    if platform in CROSS_BORDER_COUNTRIES and country in CROSS_BORDER_COUNTRIES:
        return RECIPIENT
    raise CountryRefused(f"Stripe offers no payouts from {platform} to accounts in {country}")


def country_name(code: str) -> str:
    return str(STRIPE_COUNTRIES.get(code, code))
