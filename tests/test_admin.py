"""The admin: every model opens, nothing is deleted, the vault stays masked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consultants import services as consultant_services
from consultants.models import IdentityVault, VaultReveal
from demo.accounts import enroll_totp
from engagements.models import Contribution, Study
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "consultants", "engagements", "payments", "agreements"}
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

    contribution = contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
        submit=True,
    )
    contribution_approve(contribution=contribution, by=coordinator2)
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


# --- What the services protect stays protected in the admin -------------------------


def test_an_engagement_keeps_its_consultant_phase_and_rate_card(coordinator, engagement, outsider):
    from tests.factories import PhaseFactory, RateCardFactory

    client = client_for(coordinator)
    other_phase = PhaseFactory(study=engagement.phase.study)
    other_card = RateCardFactory(study=engagement.phase.study)
    change = url(engagement.__class__, "change", engagement.pk)
    page = client.get(change).text
    for name in ("consultant", "phase", "rate_card"):
        assert f'name="{name}"' not in page, name
    response = client.post(
        change,
        {
            "consultant": outsider.pk,
            "phase": other_phase.pk,
            "rate_card": other_card.pk,
            "role": "Lead advisor",
            "hours_cap": "",
            "budget": "",
            "status": "active",
            "change_reason": "new role title",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    engagement.refresh_from_db()
    assert engagement.role == "Lead advisor"  # what may change, changed
    assert (engagement.consultant, engagement.phase, engagement.rate_card) != (
        outsider,
        other_phase,
        other_card,
    )
    assert engagement.consultant.display_name == "River"
    assert engagement.phase != other_phase and engagement.rate_card != other_card


def test_a_new_engagement_still_chooses_them(coordinator, engagement):
    from engagements.models import Engagement

    page = client_for(coordinator).get(url(Engagement, "add")).text
    for name in ("consultant", "phase", "rate_card"):
        assert f'name="{name}"' in page, name


CONSULTANT_PRIVATE = (
    "email",
    "phone",
    "safe_contact_notes",
    "safe_contact_method",
    "safe_to_leave_message",
    "payout_method",
    "gift_card_store",
    "benefits_cap_amount",
    "benefits_cap_period",
    "credit_preference",
    "receipt_name",
    "email_receipts",
    "preferred_language",
)


@pytest.fixture
def private_consultant(consultant):
    """River, with contact details and choices of their own, changed once by themselves."""
    consultant_services.consultant_update_preferences(
        consultant=consultant,
        by=consultant.user,
        email="river.first@example.net",
        phone="+1 555 0100",
        safe_contact_notes="Only weekdays, never the landline",
    )
    consultant_services.consultant_update_preferences(
        consultant=consultant,
        by=consultant.user,
        email="river.hidden@example.net",
        phone="+1 555 0199",
        safe_contact_notes="Text first, from the library",
        payout_method="gift_card",
        gift_card_store="Corner Grocer",
    )
    consultant.refresh_from_db()
    return consultant


SECRETS = (
    "river.first@example.net",
    "river.hidden@example.net",
    "555 0100",
    "555 0199",
    "landline",
    "from the library",
    "Corner Grocer",
)


def test_the_consultant_form_leaves_out_what_the_consultant_controls(
    coordinator, private_consultant
):
    from consultants.models import Consultant

    client = client_for(coordinator)
    change = url(Consultant, "change", private_consultant.pk)
    page = client.get(change).text
    for name in CONSULTANT_PRIVATE:
        assert f'name="{name}"' not in page, name
    for secret in SECRETS:
        assert secret not in page, secret
    for name in ("display_name", "pseudonym", "status"):
        assert f'name="{name}"' in page, name

    response = client.post(
        change,
        {
            "display_name": "River",
            "pseudonym": "R.",
            "status": "paused",
            "email": "attacker@example.org",
            "payout_method": "cash",
            "safe_contact_method": "phone",
            "benefits_cap_amount": "1.00",
            "benefits_cap_period": "yearly",
            "change_reason": "asked to pause",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    private_consultant.refresh_from_db()
    assert (private_consultant.pseudonym, private_consultant.status) == ("R.", "paused")
    assert private_consultant.email == "river.hidden@example.net"
    assert private_consultant.payout_method == "gift_card"
    assert private_consultant.safe_contact_method == "email"
    assert private_consultant.benefits_cap_amount is None


def test_only_a_superuser_links_a_consultant_to_a_sign_in(
    coordinator, superuser, consultant, outsider_user
):
    from consultants.models import Consultant

    change = url(Consultant, "change", consultant.pk)
    form = {"display_name": "River", "pseudonym": "", "status": "active", "change_reason": "link"}
    page = client_for(coordinator).get(change).text
    assert 'name="user"' not in page
    response = client_for(coordinator).post(change, {**form, "user": outsider_user.pk})
    assert response.status_code == 302
    consultant.refresh_from_db()
    assert consultant.user.email == "consultant@example.org"

    another = UserFactory(email="paper.consultant@example.org")
    paper = consultant_services.consultant_create(by=superuser, display_name="Paper")
    response = client_for(superuser).post(
        url(Consultant, "change", paper.pk),
        {
            "display_name": "Paper",
            "pseudonym": "",
            "status": "active",
            "user": another.pk,
            "change_reason": "they signed up for the portal",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    paper.refresh_from_db()
    assert paper.user == another


def test_the_consultant_history_in_the_admin_shows_no_contact_values(
    coordinator, superuser, private_consultant
):
    from consultants.models import Consultant

    for user in (coordinator, superuser):
        client = client_for(user)
        history = client.get(url(Consultant, "history", private_consultant.pk))
        assert history.status_code == 200
        pages = [history]
        for row in private_consultant.history.all():
            pages.append(
                client.get(url(Consultant, "simple_history", private_consultant.pk, row.pk))
            )
        for response in pages:
            assert response.status_code == 200
            for secret in SECRETS:
                assert secret not in response.text, (user, response.request["PATH_INFO"], secret)
        # who and when are still there
        assert "River" in history.text


def test_a_consultant_added_in_the_admin_gets_a_tax_form_and_named_history(coordinator):
    from consultants.models import Consultant, TaxForm

    response = client_for(coordinator).post(
        url(Consultant, "add"), {"display_name": "Juniper", "pseudonym": "", "status": "active"}
    )
    assert response.status_code == 302, response.text[:2000]
    added = Consultant.objects.get(display_name="Juniper")
    assert TaxForm.objects.filter(consultant=added).exists()
    row = added.history.get()
    assert (row.history_user, row.history_action) == (coordinator, "consultant.created")


def test_a_taxpayer_id_for_a_consultant_without_a_tax_form_records_one(finance):
    from consultants.models import Consultant, TaxForm

    bare = Consultant.objects.create(display_name="Before tax forms")  # an older row
    response = client_for(finance).post(
        url(IdentityVault, "add"),
        {
            "consultant": bare.pk,
            "legal_name": "",
            "mailing_address": "",
            "date_of_birth": "",
            "taxpayer_id": "612-88-7777",
            "reason": "W-9 arrived",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    assert TaxForm.objects.get(consultant=bare).tin_last4 == "7777"


# --- Roles: nobody raises their own access; finance and admin come from a superuser --


def user_form(user, **changes) -> dict:
    form = {
        "email": user.email,
        "name": user.name,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "groups": [g.pk for g in user.groups.all()],
        "change_reason": "role review",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v not in ("", None)}


def group_ids(*names) -> list[int]:
    from django.contrib.auth.models import Group

    return [Group.objects.get(name=name).pk for name in names]


def test_the_admin_role_cannot_make_itself_superuser_or_finance(admin_user):
    from accounts.models import User

    client = client_for(admin_user)
    change = url(User, "change", admin_user.pk)
    page = client.get(change).text
    for name in ("is_superuser", "groups", "is_staff", "is_active"):
        assert f'name="{name}"' not in page, name
    response = client.post(
        change,
        user_form(
            admin_user,
            name="Alex B.",
            is_superuser="on",
            groups=group_ids("admin", "finance"),
            is_active="",
        ),
    )
    assert response.status_code == 302, response.text[:2000]
    admin_user = User.objects.get(pk=admin_user.pk)
    assert admin_user.name == "Alex B."  # their own profile, yes
    assert not admin_user.is_superuser
    assert admin_user.is_active
    assert admin_user.role_names == {"admin"}


def test_the_admin_role_cannot_make_anyone_superuser(admin_user, coordinator):
    from accounts.models import User

    client = client_for(admin_user)
    change = url(User, "change", coordinator.pk)
    assert 'name="is_superuser"' not in client.get(change).text
    response = client.post(change, user_form(coordinator, is_superuser="on"))
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert not coordinator.is_superuser


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_only_a_superuser_grants_finance_or_admin(admin_user, superuser, coordinator, role):
    from accounts.models import User

    change = url(User, "change", coordinator.pk)
    wanted = user_form(coordinator, groups=group_ids("coordinator", role))
    response = client_for(admin_user).post(change, wanted)
    assert response.status_code == 200
    assert "Only a superuser can give or take away these roles" in response.text
    assert role in response.text
    assert User.objects.get(pk=coordinator.pk).role_names == {"coordinator"}

    response = client_for(superuser).post(change, wanted)
    assert response.status_code == 302, response.text[:2000]
    assert User.objects.get(pk=coordinator.pk).role_names == {"coordinator", role}


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_only_a_superuser_takes_finance_or_admin_away(admin_user, superuser, role):
    from accounts.models import User

    holder = UserFactory(email="holder@example.org", roles=[role, "coordinator"])
    change = url(User, "change", holder.pk)
    wanted = user_form(holder, groups=group_ids("coordinator"))
    response = client_for(admin_user).post(change, wanted)
    assert response.status_code == 200
    assert "Only a superuser can give or take away these roles" in response.text
    assert User.objects.get(pk=holder.pk).role_names == {role, "coordinator"}

    assert client_for(superuser).post(change, wanted).status_code == 302
    assert User.objects.get(pk=holder.pk).role_names == {"coordinator"}


def test_the_admin_role_still_manages_other_roles(admin_user, coordinator):
    from accounts.models import User

    change = url(User, "change", coordinator.pk)
    response = client_for(admin_user).post(
        change, user_form(coordinator, groups=group_ids("coordinator", "consultant"))
    )
    assert response.status_code == 302, response.text[:2000]
    assert User.objects.get(pk=coordinator.pk).role_names == {"coordinator", "consultant"}


def test_the_admin_role_cannot_invite_finance(admin_user):
    from accounts.models import User

    response = client_for(admin_user).post(
        url(User, "add"),
        {"email": "money@example.org", "name": "Money", "groups": group_ids("finance")},
    )
    assert response.status_code == 200
    assert "Only a superuser can give or take away these roles" in response.text
    assert not User.objects.filter(email="money@example.org").exists()


def test_the_admin_role_cannot_change_a_superuser(admin_user, superuser):
    from accounts.models import User

    client = client_for(admin_user)
    response = client.post(
        url(User, "change", superuser.pk), user_form(superuser, email="taken@example.org")
    )
    assert response.status_code == 403
    password = reverse("admin:auth_user_password_change", args=[superuser.pk])
    response = client.post(password, {"password1": "x" * 20, "password2": "x" * 20})
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.email == "root@example.org"
    assert not superuser.check_password("x" * 20)
