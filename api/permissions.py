from __future__ import annotations

from rest_framework import permissions

from accounts.mfa import needs_mfa_setup


class SignedInWithMFA(permissions.BasePermission):
    """Signed in; finance and admin users also need two-step sign-in set up."""

    message = "Set up two-step sign-in before using the API with this role."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return not needs_mfa_setup(user)


class IsStaff(permissions.BasePermission):
    message = "This is for study staff."

    def has_permission(self, request, view):
        return request.user.is_authenticated and request.user.is_staff_member


class HasModelPermission(permissions.BasePermission):
    """Map an action to a Django permission via the view's ``action_permissions``."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        perm = getattr(view, "action_permissions", {}).get(view.action)
        return perm is None or request.user.has_perm(perm)
