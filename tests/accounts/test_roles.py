"""The four roles exist after migrate, each with exactly its permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import MFA_ROLES, ROLE_PERMISSIONS, ROLES, sync_roles

pytestmark = pytest.mark.django_db


def permissions_of(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def snapshot() -> dict[str, set[str]]:
    return {group.name: permissions_of(group) for group in Group.objects.all()}


def test_the_four_roles_exist_after_migrate_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) == set(ROLES)
    for role in ROLES:
        assert permissions_of(Group.objects.get(name=role)) == set(ROLE_PERMISSIONS[role])


def test_every_listed_permission_exists():
    # A typo in roles.py would otherwise be skipped silently by sync_roles.
    known = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for role, perms in ROLE_PERMISSIONS.items():
        assert set(perms) <= known, (role, sorted(set(perms) - known))


def test_separation_between_roles():
    perms = {role: set(p) for role, p in ROLE_PERMISSIONS.items()}
    assert perms["consultant"] == set()
    assert "consultants.reveal_vault" in perms["finance"]
    for role in ("coordinator", "admin", "consultant"):
        assert not {p for p in perms[role] if "identityvault" in p or "reveal" in p}
        assert "payments.access_finance" not in perms[role]
    assert "engagements.approve_contribution" not in perms["finance"] | perms["admin"]
    assert set(MFA_ROLES) == {"finance", "admin"}


def test_sync_roles_is_idempotent_and_repairs_drift():
    before = snapshot()
    sync_roles()
    sync_roles()
    assert snapshot() == before
    assert Group.objects.count() == len(ROLES)

    finance = Group.objects.get(name="finance")
    finance.permissions.add(Permission.objects.get(codename="delete_contribution"))
    Group.objects.get(name="coordinator").delete()
    sync_roles()
    assert snapshot() == before


def test_users_get_permissions_through_their_role(coordinator, finance, consultant_user):
    assert coordinator.has_perm("engagements.approve_contribution")
    assert not coordinator.has_perm("consultants.reveal_vault")
    assert finance.has_perm("consultants.reveal_vault")
    assert not finance.has_perm("engagements.approve_contribution")
    assert not consultant_user.get_all_permissions()
    assert coordinator.is_coordinator and coordinator.is_staff_member
    assert consultant_user.is_consultant_user and not consultant_user.is_staff_member
