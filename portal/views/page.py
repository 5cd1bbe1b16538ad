"""What every page of the portal is: signed in, a consultant, never cached."""

from __future__ import annotations

from django.views.decorators.cache import never_cache

from accounts.access import consultant_required


def portal_page(view):
    """A page of the portal: signed in, a consultant, never cached."""
    return never_cache(consultant_required(view))
