"""A consultant is whoever has a consultant record, whatever their groups say:
the record decides the short idle session and how long their API tokens last."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import ApiToken
from accounts.services import MAX_CONSULTANT_TOKEN_DAYS, api_token_create
from core.errors import ValidationFailed
from tests.factories import ConsultantFactory, UserFactory

pytestmark = pytest.mark.django_db

CONSULTANT_IDLE = django_settings.CONSULTANT_SESSION_IDLE_MINUTES * 60


@pytest.fixture
def linked_without_group(db):
    """Linked to a consultant record but never put in the consultant group."""
    user = UserFactory(email="nogroup@example.org")
    ConsultantFactory(display_name="Wren", user=user)
    return user


def expiry_after_a_page(user) -> int:
    client = Client()
    client.force_login(user)
    client.get("/")
    return client.session.get_expiry_age()


def test_a_consultant_without_the_group_still_gets_the_short_session(linked_without_group):
    assert not linked_without_group.is_consultant_user  # the group is missing...
    assert expiry_after_a_page(linked_without_group) == CONSULTANT_IDLE  # ...the record decides


def test_staff_with_a_consultant_record_keep_the_staff_session(settings):
    person = UserFactory(email="both@example.org", roles=["coordinator"])
    ConsultantFactory(display_name="Both", user=person)
    assert expiry_after_a_page(person) == settings.SESSION_COOKIE_AGE


def test_the_group_alone_does_not_make_a_consultant_session(settings):
    person = UserFactory(email="grouponly@example.org", roles=["consultant"])
    assert expiry_after_a_page(person) == settings.SESSION_COOKIE_AGE


@pytest.mark.parametrize("days", [31, 90, 365])
def test_consultants_cannot_make_tokens_longer_than_a_month(linked_without_group, days):
    with pytest.raises(ValidationFailed) as caught:
        api_token_create(user=linked_without_group, name="sync", days=days)
    assert caught.value.field == "days"
    assert str(MAX_CONSULTANT_TOKEN_DAYS) in caught.value.message
    assert not ApiToken.objects.exists()


def test_consultants_make_tokens_of_up_to_a_month(consultant):
    row, _text = api_token_create(user=consultant.user, name="sync", days=30)
    assert (row.expiry - row.created).days in (29, 30)


def test_staff_may_still_make_year_long_tokens(coordinator):
    row, _text = api_token_create(user=coordinator, name="reports", days=365)
    assert row.expiry is not None


def test_the_token_page_offers_a_consultant_only_what_they_may_choose(client, consultant):
    client.force_login(consultant.user)
    page = client.get("/tokens/")
    offered = [value for value, _label in page.context["form"].fields["days"].choices]
    assert offered == [7, 30]
    refused = client.post("/tokens/", {"name": "sync", "days": "365"})
    assert refused.status_code == 200
    assert refused.context["new_token"] is None
    assert refused.context["form"].errors["days"]
    assert not ApiToken.objects.exists()


def test_the_token_page_offers_staff_a_year(client, coordinator):
    client.force_login(coordinator)
    page = client.get("/tokens/")
    offered = [value for value, _label in page.context["form"].fields["days"].choices]
    assert offered == [7, 30, 90, 365]
