"""The main navigation: which links each person gets, and which one is the current page.

One list for every page (templates/includes/nav.html renders it). A link is current
when the page's path starts with its URL, the longest such URL winning, so an entry's
page under ``/me/work/`` marks "My work" and not "My home" (``/me/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavLink:
    label: str | Promise
    url: str
    current: bool = False


STAFF = (
    ("engagements:dashboard", _("Dashboard")),
    ("consultants:list", _("Consultants")),
    ("engagements:log", _("Log work")),
    ("engagements:review", _("Review")),
    ("engagements:disputes", _("Disputes")),
    ("engagements:contributions", _("All entries")),
    ("expenses:advances", _("Advances")),
    ("meetings:list", _("Sessions")),
)
FINANCE = (
    ("payments:home", _("Payout batches")),
    ("payments:stripe_status", _("Direct deposit setup")),
    ("payments:receipts", _("Receipts")),
    ("payments:tax_home", _("Tax summary")),
)
CONSULTANT = (
    ("portal:home", _("My home")),
    ("portal:contributions", _("My work")),
    ("portal:log", _("Log hours")),
    ("portal:payments", _("Payments")),
    ("portal:receipts", _("Receipts")),
    ("portal:income", _("Income")),
    ("portal:preferences", _("Preferences")),
    ("portal:agreements", _("Agreements")),
    ("portal:consents", _("Requests")),
    ("portal:sessions", _("My sessions")),
)


def _names(user) -> list[tuple[str, str | Promise]]:
    roles = user.role_names
    names: list[tuple[str, str | Promise]] = []
    if "coordinator" in roles or "admin" in roles:
        names += STAFF
    if "finance" in roles:
        names += FINANCE
        if "coordinator" not in roles and "admin" not in roles:
            names.append(("consultants:list", _("Consultants")))
            names.append(("expenses:advances", _("Advances")))
    if "admin" in roles or user.is_superuser:
        names.append(("admin:index", _("Administration")))
    if getattr(user, "consultant", None) is not None:
        names += CONSULTANT
    elif roles or user.is_superuser:
        # Staff use API tokens for integrations; a consultant finds them under Preferences.
        names.append(("api_tokens", _("API tokens")))
    return names


def navigation(user, path: str) -> list[NavLink]:
    if user is None or not user.is_authenticated:
        return []
    links = [(label, reverse(name)) for name, label in _names(user)]
    matches = [url for _label, url in links if path.startswith(url)]
    current = max(matches, key=len) if matches else None
    return [NavLink(label=label, url=url, current=url == current) for label, url in links]
