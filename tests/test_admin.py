"""The admin: every model opens, nothing is deleted, the vault stays masked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.demo import enroll_totp
from consultants import services as consultant_services
from consultants.models import IdentityVault, VaultReveal
from engagements import services
from engagements.models import Contribution, Study
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "consultants", "engagements", "payments"}
# Phases nobody works in yet may be deleted by an admin (roles.py grants it);
# PROTECT keeps every phase that has engagements.
DELETABLE = {"engagements.Phase"}

FOUNDATION_MODELS = {
    "auth.Group",
    "account.EmailAddress",
    "mfa.Authenticator",
    "django_tasks_database.DBTaskResult",
    "accounts.User",
    "consultants.Consultant",
    "consultants.IdentityVault",
    "consultants.VaultReveal",
    "consultants.TaxForm",
    "engagements.Study",
    "engagements.Phase",
    "engagements.RateCard",
    "engagements.Rate",
    "engagements.Engagement",
    "engagements.Contribution",
}

LEGAL_NAME = "Adelaide Quintero-Marsh"
TAXPAYER_ID = "612-88-4093"
ADDRESS = "4417 Larkspur Terrace"


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db):
    user = UserFactory(email="root@example.org", is_staff=True, is_superuser=True)
    enroll_totp(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    return user


@pytest.fixture
def world(engagement, coordinator, coordinator2, finance):
    """One row of every registered model."""
    from allauth.account.models import EmailAddress
    from django_tasks_db.models import DBTaskResult

    contribution = services.contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
        submit=True,
    )
    services.contribution_approve(contribution=contribution, by=coordinator2)
    consultant_services.vault_update(
        consultant=engagement.consultant,
        by=finance,
        reason="",
        legal_name=LEGAL_NAME,
        taxpayer_id=TAXPAYER_ID,
        mailing_address=ADDRESS,
        date_of_birth=date(1983, 7, 14),
    )
    consultant_services.vault_reveal(
        consultant=engagement.consultant, field="legal_name", by=finance, reason="1099"
    )
    EmailAddress.objects.create(user=coordinator, email=coordinator.email, verified=True)
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="honora.no_such_task",
        backend_name="default",
        run_after=timezone.now(),
    )
    return engagement


def test_every_foundation_model_is_registered():
    registered = {model._meta.label for model in admin.site._registry}
    assert registered >= FOUNDATION_MODELS


def test_every_model_of_ours_is_registered():
    from django.apps import apps

    ours = {
        m._meta.label
        for m in apps.get_models()
        if m._meta.app_label in {*OUR_APPS, "api"}
        and m._meta.managed
        and not m.__name__.startswith("Historical")
    }
    # Counters and token rows are plumbing, seen through what they serve.
    ours -= {"payments.ReceiptCounter", "accounts.ApiToken"}
    registered = {model._meta.label for model in admin.site._registry}
    assert ours <= registered, sorted(ours - registered)


def test_a_superuser_opens_every_admin_page_and_deletes_nothing(superuser, world):
    client = client_for(superuser)
    assert client.get("/admin/").status_code == 200
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        response = client.get(url(model, "changelist"))
        assert response.status_code == 200, label
        request = response.wsgi_request
        if model_admin.has_add_permission(request):
            assert client.get(url(model, "add")).status_code == 200, label
        else:
            assert client.get(url(model, "add")).status_code == 403, label
        obj = model._default_manager.first()
        if obj is None:
            # Only models added after the foundation may be without a row here.
            assert label not in FOUNDATION_MODELS, label
            continue
        response = client.get(url(model, "change", obj.pk))
        assert response.status_code == 200, label
        if model._meta.app_label in OUR_APPS and label not in DELETABLE:
            assert client.get(url(model, "delete", obj.pk)).status_code == 403, label
            assert url(model, "delete", obj.pk) not in response.text, label
            changelist = client.get(url(model, "changelist"))
            assert "delete_selected" not in changelist.text, label
        if hasattr(model, "history") and model._meta.app_label in OUR_APPS:
            assert client.get(url(model, "history", obj.pk)).status_code == 200, label


def test_the_admin_role_sees_what_its_role_allows(admin_user, world):
    client = client_for(admin_user)
    allowed = [
        "engagements.Study",
        "engagements.Phase",
        "engagements.RateCard",
        "engagements.Rate",
        "engagements.Engagement",
        "engagements.Contribution",
        "consultants.Consultant",
        "accounts.User",
        "auth.Group",
    ]
    refused = ["consultants.IdentityVault", "consultants.VaultReveal", "consultants.TaxForm"]
    by_label = {model._meta.label: model for model in admin.site._registry}
    for label in allowed:
        model = by_label[label]
        assert client.get(url(model, "changelist")).status_code == 200, label
        obj = model._default_manager.first()
        assert client.get(url(model, "change", obj.pk)).status_code == 200, label
    for label in ("engagements.Study", "engagements.RateCard", "accounts.User"):
        assert client.get(url(by_label[label], "add")).status_code == 200, label
    for label in refused:
        assert client.get(url(by_label[label], "changelist")).status_code == 403, label


def test_a_coordinator_cannot_open_the_vault(coordinator, world):
    client = client_for(coordinator)
    assert client.get(url(IdentityVault, "changelist")).status_code == 403
    vault = IdentityVault.objects.get()
    assert client.get(url(IdentityVault, "change", vault.pk)).status_code == 403
    assert client.get(url(IdentityVault, "reveal", vault.pk)).status_code == 403
    assert client.get(url(VaultReveal, "changelist")).status_code == 403


def test_the_vault_pages_never_print_stored_values(finance, world):
    client = client_for(finance)
    vault = IdentityVault.objects.get()
    pages = [
        client.get(url(IdentityVault, "changelist")),
        client.get(url(IdentityVault, "change", vault.pk)),
        client.get(url(IdentityVault, "history", vault.pk)),
    ]
    for response in pages:
        assert response.status_code == 200
        for secret in (LEGAL_NAME, "Quintero", TAXPAYER_ID, "612-88", ADDRESS, "1983-07-14"):
            assert secret not in response.text, (response.request["PATH_INFO"], secret)
    assert "4093" in pages[0].text  # the last four, masked, are enough to tell rows apart


def test_the_vault_is_changed_in_the_admin_with_a_reason(finance, world):
    client = client_for(finance)
    vault = IdentityVault.objects.get()
    form = {
        "legal_name": "",
        "mailing_address": "",
        "date_of_birth": "",
        "taxpayer_id": "612-88-5150",
    }
    response = client.post(url(IdentityVault, "change", vault.pk), form)
    assert response.status_code == 200  # the reason is missing
    vault.refresh_from_db()
    assert vault.taxpayer_id == TAXPAYER_ID

    response = client.post(
        url(IdentityVault, "change", vault.pk), {**form, "reason": "Corrected W-9"}
    )
    assert response.status_code == 302
    vault.refresh_from_db()
    assert vault.taxpayer_id == "612-88-5150"
    assert vault.legal_name == LEGAL_NAME  # blank means keep
    latest = vault.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (finance, "Corrected W-9")
    assert vault.consultant.tax_form.tin_last4 == "5150"
    page = client.get(url(IdentityVault, "change", vault.pk)).text
    assert "Corrected W-9" in page  # the history is on the page, the values are not
    assert "612-88-5150" not in page


def test_a_reveal_in_the_admin_needs_a_reason_shows_the_value_once_and_is_recorded(finance, world):
    client = client_for(finance)
    vault = IdentityVault.objects.get()
    reveal_url = url(IdentityVault, "reveal", vault.pk)
    before = VaultReveal.objects.count()

    response = client.get(reveal_url)
    assert response.status_code == 200
    assert TAXPAYER_ID not in response.text

    response = client.post(reveal_url, {"field": "taxpayer_id", "reason": ""})
    assert response.status_code == 200
    assert TAXPAYER_ID not in response.text
    assert VaultReveal.objects.count() == before

    response = client.post(reveal_url, {"field": "taxpayer_id", "reason": "Filing the 1099"})
    assert response.status_code == 200
    assert response.text.count(TAXPAYER_ID) == 1
    assert "no-store" in response["Cache-Control"]
    reveal = VaultReveal.objects.first()
    assert VaultReveal.objects.count() == before + 1
    assert (reveal.field, reveal.revealed_by, reveal.reason, reveal.context) == (
        "taxpayer_id",
        finance,
        "Filing the 1099",
        "admin",
    )

    assert TAXPAYER_ID not in client.get(reveal_url).text  # once, not again
    assert TAXPAYER_ID not in client.get(url(VaultReveal, "changelist")).text


def test_reveal_rows_are_read_only_in_the_admin(finance, world):
    client = client_for(finance)
    reveal = VaultReveal.objects.get()
    assert client.get(url(VaultReveal, "add")).status_code == 403
    response = client.post(url(VaultReveal, "change", reveal.pk), {"reason": "rewritten"})
    assert response.status_code == 403
    assert VaultReveal.objects.get().reason == "1099"


def test_contributions_are_read_only_in_the_admin(coordinator2, world):
    client = client_for(coordinator2)
    contribution = Contribution.objects.get()
    assert client.get(url(Contribution, "changelist")).status_code == 200
    assert client.get(url(Contribution, "add")).status_code == 403
    response = client.get(url(Contribution, "change", contribution.pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    response = client.post(
        url(Contribution, "change", contribution.pk),
        {"quantity": "9", "status": "draft", "amount": "1.00"},
    )
    assert response.status_code == 403
    contribution.refresh_from_db()
    assert (contribution.quantity, contribution.status) == (Decimal("2.00"), "approved")


def test_a_study_added_in_the_admin_gets_the_default_phases_and_history(admin_user):
    client = client_for(admin_user)
    response = client.post(
        url(Study, "add"),
        {
            "name": "Second Study",
            "description": "",
            "currency": "USD",
            "budget": "",
            "hourly_rate_floor": "57.00",
            "phases-TOTAL_FORMS": "0",
            "phases-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    study = Study.objects.get(name="Second Study")
    assert study.phases.count() == 5
    row = study.history.get()
    assert (row.history_user, row.history_action) == (admin_user, "study.created")


def test_an_admin_invites_a_person_without_giving_them_a_password(admin_user):
    from django.contrib.auth.models import Group

    from accounts.models import User

    client = client_for(admin_user)
    coordinators = Group.objects.get(name="coordinator")
    response = client.post(
        url(User, "add"),
        {"email": "New.Person@Example.org", "name": "Newbie", "groups": [coordinators.pk]},
    )
    assert response.status_code == 302, response.text[:2000]
    invited = User.objects.get(email="new.person@example.org")
    assert invited.name == "Newbie"
    assert invited.role_names == {"coordinator"}
    assert not invited.has_usable_password()
    row = invited.history.earliest()
    assert row.history_user == admin_user

    # The same address in other letters is the same person.
    response = client.post(url(User, "add"), {"email": "NEW.PERSON@example.org", "name": "Twin"})
    assert response.status_code == 200
    assert User.objects.filter(email__iexact="new.person@example.org").count() == 1
