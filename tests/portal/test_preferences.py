"""Preferences the consultant controls: saved through the service, every change in history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from consultants.models import Consultant
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db

URL = "/me/preferences/"


def current(consultant: Consultant, **overrides) -> dict:
    """The form as the page sends it, unchanged, with ``overrides`` applied."""
    data = {
        "payout_method": consultant.payout_method,
        "gift_card_store": consultant.gift_card_store,
        "display_name": consultant.display_name,
        "pseudonym": consultant.pseudonym,
        "receipt_name": consultant.receipt_name,
        "credit_preference": consultant.credit_preference,
        "safe_contact_method": consultant.safe_contact_method,
        "safe_contact_notes": consultant.safe_contact_notes,
        "email": consultant.email,
        "phone": consultant.phone,
        "preferred_language": consultant.preferred_language,
        "benefits_cap_period": consultant.benefits_cap_period or "none",
        "benefits_cap_amount": consultant.benefits_cap_amount or "",
    }
    if consultant.safe_to_leave_message:
        data["safe_to_leave_message"] = "on"
    if consultant.email_receipts:
        data["email_receipts"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_url_is_the_one_the_nav_links_to():
    assert reverse("portal:preferences") == URL


def test_the_page_shows_the_current_preferences(consultant_client, consultant):
    body = consultant_client.get(URL).content.decode()
    assert f'value="{consultant.email}"' in body
    assert 'value="check" id="id_payout_method_1" checked' in body.replace("\n", " ") or (
        'value="check"' in body
    )


def test_a_change_is_saved_and_recorded_with_the_user(consultant_client, consultant):
    response = consultant_client.post(
        URL, current(consultant, payout_method="gift_card", gift_card_store="Grocery Outlet")
    )
    assert response.status_code == 302
    consultant.refresh_from_db()
    assert consultant.payout_method == "gift_card"
    assert consultant.gift_card_store == "Grocery Outlet"
    last = consultant.history.latest()
    assert last.history_user == consultant.user
    assert last.history_action == "consultant.preferences_changed"
    page = text(consultant_client.get(URL))
    assert "Your preferences are saved." in page
    assert (
        "You changed preferred payout method from Check to Gift card; "
        "gift card store from not set to Grocery Outlet on" in page
    )


def test_an_unchanged_form_records_nothing(consultant_client, consultant):
    before = consultant.history.count()
    response = consultant_client.post(URL, current(consultant))
    assert response.status_code == 302
    assert consultant.history.count() == before
    assert "Nothing to save" in text(consultant_client.get(URL))


def test_every_preference_can_be_changed(consultant_client, consultant):
    consultant_client.post(
        URL,
        current(
            consultant,
            payout_method="prepaid_card",
            display_name="Riv",
            pseudonym="R. W.",
            receipt_name="pseudonym",
            credit_preference="pseudonym",
            safe_contact_method="text",
            safe_to_leave_message="on",
            safe_contact_notes="Weekdays only",
            email="new@example.net",
            phone="555 0100",
            preferred_language="es",
            email_receipts="on",
            benefits_cap_period="monthly",
            benefits_cap_amount="900",
        ),
    )
    c = Consultant.objects.get(pk=consultant.pk)
    assert (c.payout_method, c.display_name, c.pseudonym) == ("prepaid_card", "Riv", "R. W.")
    assert (c.receipt_name, c.credit_preference) == ("pseudonym", "pseudonym")
    assert (c.safe_contact_method, c.safe_to_leave_message, c.safe_contact_notes) == (
        "text",
        True,
        "Weekdays only",
    )
    assert (c.email, c.phone, c.preferred_language, c.email_receipts) == (
        "new@example.net",
        "555 0100",
        "es",
        True,
    )
    assert (c.benefits_cap_amount, c.benefits_cap_period) == (Decimal("900.00"), "monthly")


def test_contact_details_stay_off_the_history_list(consultant_client, consultant):
    old_email = consultant.email
    consultant_client.post(
        URL, current(consultant, email="secret@example.net", safe_contact_notes="Not after 6")
    )
    page = text(consultant_client.get(URL))
    history = page.split("Changes to your preferences, newest first", 1)[1]
    assert "e-mail (not shown here)" in history
    assert "contact notes (not shown here)" in history
    assert "secret@example.net" not in history and old_email not in history
    assert "Not after 6" not in history


def test_the_limit_can_be_removed(consultant_client, consultant):
    consultant.benefits_cap_amount = Decimal("900")
    consultant.benefits_cap_period = "monthly"
    consultant.save()
    # "No limit" clears the amount even if the old one is still in the box
    consultant_client.post(URL, current(consultant, benefits_cap_period="none"))
    consultant.refresh_from_db()
    assert (consultant.benefits_cap_amount, consultant.benefits_cap_period) == (None, "")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"benefits_cap_period": "monthly", "benefits_cap_amount": ""},
            "benefits_cap_amount",
            "Enter the amount of your limit, or choose No limit.",
        ),
        (
            {"benefits_cap_period": "yearly", "benefits_cap_amount": "0"},
            "benefits_cap_amount",
            "Your limit must be more than zero.",
        ),
        (
            {"benefits_cap_period": "yearly", "benefits_cap_amount": "-50"},
            "benefits_cap_amount",
            "Your limit must be more than zero.",
        ),
        (
            {"benefits_cap_period": "monthly", "benefits_cap_amount": "lots"},
            "benefits_cap_amount",
            "Enter the limit as an amount, for example 900 or 900.00.",
        ),
        (
            {"benefits_cap_period": "monthly", "benefits_cap_amount": "12.345"},
            "benefits_cap_amount",
            "Enter the limit in dollars and cents.",
        ),
        (
            {"benefits_cap_period": "monthly", "benefits_cap_amount": "99999999999"},
            "benefits_cap_amount",
            "That limit is too large.",
        ),
        (
            {"benefits_cap_period": "weekly", "benefits_cap_amount": "100"},
            "benefits_cap_period",
            "Select a valid choice.",
        ),
        (
            {"payout_method": "gift_card", "gift_card_store": ""},
            "gift_card_store",
            "Tell us which store's gift card you would like.",
        ),
        (
            {"receipt_name": "pseudonym", "pseudonym": ""},
            "pseudonym",
            "Enter the pseudonym you would like us to use.",
        ),
        ({"display_name": "  "}, "display_name", "This field is required."),
        ({"email": "not an address"}, "email", "Enter a valid email address."),
    ],
)
def test_invalid_preferences_are_refused_and_kept(
    consultant_client, consultant, overrides, field, message
):
    before = consultant.history.count()
    data = current(consultant, phone="555 0199", **overrides)
    response = consultant_client.post(URL, data)
    assert response.status_code == 400
    assert message in text(response)
    assert f'id="id_{field}_error"' in response.content.decode()
    assert 'value="555 0199"' in response.content.decode()  # the rest of the input is kept
    consultant.refresh_from_db()
    assert consultant.history.count() == before
    assert consultant.phone != "555 0199"


def test_a_service_refusal_lands_on_its_field(consultant_client, consultant, monkeypatch):
    from core.errors import ValidationFailed
    from portal.views import preferences as portal_views

    def refuse(**kwargs):
        raise ValidationFailed("Not that store.", field="gift_card_store")

    monkeypatch.setattr(portal_views, "consultant_update_preferences", refuse)
    response = consultant_client.post(
        URL, current(consultant, payout_method="gift_card", gift_card_store="X")
    )
    assert response.status_code == 400
    assert 'id="id_gift_card_store_error"' in response.content.decode()
    assert "Not that store." in text(response)


def test_staff_changes_show_in_the_consultants_history(consultant_client, consultant, coordinator):
    from consultants.services import consultant_update_preferences

    consultant_update_preferences(
        consultant=consultant, by=coordinator, reason="asked by phone", payout_method="cash"
    )
    page = text(consultant_client.get(URL))
    assert "Maria (coordinator) changed preferred payout method from Check to Cash on" in page
    assert '"asked by phone"' in page
