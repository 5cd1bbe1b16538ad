"""The four roles, as groups with permissions.

Roles are synced after every ``migrate`` (see ``accounts.signals``), so a new
permission reaches its role without a hand-written data migration.
"""

from __future__ import annotations

COORDINATOR = "coordinator"
CONSULTANT = "consultant"
FINANCE = "finance"
ADMIN = "admin"
ROLES = (COORDINATOR, CONSULTANT, FINANCE, ADMIN)
# Roles whose pages carry money or personal data: they need MFA first.
MFA_ROLES = (FINANCE, ADMIN)


def _crud(app: str, model: str, *actions: str) -> list[str]:
    return [f"{app}.{action}_{model}" for action in actions]


_READ_STUDY = [
    *_crud("engagements", "study", "view"),
    *_crud("engagements", "phase", "view"),
    *_crud("engagements", "ratecard", "view"),
    *_crud("engagements", "rate", "view"),
    *_crud("engagements", "engagement", "view"),
    *_crud("engagements", "contribution", "view"),
    *_crud("engagements", "dispute", "view"),
    *_crud("consultants", "consultant", "view"),
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    COORDINATOR: [
        *_READ_STUDY,
        *_crud("engagements", "engagement", "add", "change"),
        *_crud("engagements", "contribution", "add", "change"),
        "engagements.approve_contribution",
        *_crud("consultants", "consultant", "add", "change"),
    ],
    FINANCE: [
        *_READ_STUDY,
        *_crud("consultants", "identityvault", "view", "add", "change"),
        *_crud("consultants", "taxform", "view", "add", "change"),
        *_crud("consultants", "vaultreveal", "view"),
        "consultants.reveal_vault",
        "payments.access_finance",
        *[
            f"payments.view_{model}"
            for model in (
                "payoutbatch",
                "payment",
                "paymentitem",
                "paymentattempt",
                "stripeaccount",
                "webhookevent",
                "receipt",
                "annualstatement",
            )
        ],
    ],
    ADMIN: [
        *_READ_STUDY,
        *_crud("engagements", "study", "add", "change"),
        *_crud("engagements", "phase", "add", "change", "delete"),
        *_crud("engagements", "ratecard", "add", "change"),
        *_crud("engagements", "rate", "add"),
        *_crud("engagements", "engagement", "add", "change"),
        *_crud("consultants", "consultant", "add", "change"),
        *_crud("accounts", "user", "view", "add", "change"),
        "auth.view_group",
    ],
    CONSULTANT: [],
}


def sync_roles(using: str = "default") -> None:
    """Create the role groups and give each exactly its permissions."""
    # Not at the top: accounts.models reads this module while the user model itself
    # is loading, before django.contrib.auth's models can be imported.
    from django.contrib.auth.models import Group, Permission

    wanted: dict[str, set[tuple[str, str]]] = {
        role: {tuple(p.split(".", 1)) for p in perms} for role, perms in ROLE_PERMISSIONS.items()
    }
    all_perms = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.using(using).select_related("content_type")
    }
    for role, pairs in wanted.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([all_perms[pair] for pair in sorted(pairs) if pair in all_perms])
