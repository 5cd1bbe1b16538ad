"""Who may open a page: role checks (403) and ownership lookups (404).

A role mismatch is a 403 (a coordinator on a finance page). A record that is not
the caller's is a 404, so a consultant cannot even learn that it exists.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from accounts.roles import ADMIN, COORDINATOR, FINANCE


def role_required(*roles: str):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not (request.user.has_role(*roles) or request.user.is_superuser):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_required = role_required(COORDINATOR, FINANCE, ADMIN)
coordinator_required = role_required(COORDINATOR, ADMIN)
finance_required = role_required(FINANCE)


def consultant_required(view):
    """The signed-in person's own consultant record, as ``request.consultant``."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        consultant = getattr(request.user, "consultant", None)
        if consultant is None:
            raise Http404
        request.consultant = consultant
        return view(request, *args, **kwargs)

    return wrapper


def get_visible_or_404(queryset, **lookup):
    """Fetch one row from a selector's queryset; anything not visible is a 404.

    So is a lookup value that cannot be one (``?consultant=zzz`` for a UUID field
    raises ValidationError, not ValueError): it matches nothing.
    """
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404 from None
