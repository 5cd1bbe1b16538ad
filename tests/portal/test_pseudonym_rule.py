"""A pseudonym chosen for receipts or credit must exist: a rule of the service, not the page.

So the API, the staff pages and the portal all keep it.
"""

from __future__ import annotations

import pytest

from consultants.services import consultant_update_preferences
from core.errors import ValidationFailed
from portal.forms import PreferencesForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["receipt_name", "credit_preference"])
def test_choosing_a_pseudonym_without_one_is_refused_by_the_service(consultant, field):
    consultant.pseudonym = ""
    consultant.save()
    with pytest.raises(ValidationFailed) as refused:
        consultant_update_preferences(
            consultant=consultant, by=consultant.user, **{field: "pseudonym"}
        )
    assert refused.value.field == "pseudonym"
    assert refused.value.message == "Enter the pseudonym you would like us to use."
    consultant.refresh_from_db()
    assert getattr(consultant, field) != "pseudonym"


def test_removing_the_pseudonym_still_in_use_is_refused(consultant, coordinator):
    consultant_update_preferences(
        consultant=consultant, by=consultant.user, pseudonym="R. W.", receipt_name="pseudonym"
    )
    with pytest.raises(ValidationFailed):
        consultant_update_preferences(consultant=consultant, by=coordinator, pseudonym="  ")
    consultant.refresh_from_db()
    assert consultant.pseudonym == "R. W."


def test_with_a_pseudonym_the_choice_is_saved(consultant):
    c = consultant_update_preferences(
        consultant=consultant,
        by=consultant.user,
        pseudonym="R. W.",
        credit_preference="pseudonym",
    )
    assert (c.pseudonym, c.credit_preference) == ("R. W.", "pseudonym")


def test_the_form_leaves_the_rule_to_the_service(consultant):
    data = {name: getattr(consultant, name) for name in PreferencesForm.base_fields}
    data.update(benefits_cap_period="none", benefits_cap_amount="", pseudonym="")
    data.update(receipt_name="pseudonym", email="", phone="")
    form = PreferencesForm(data, consultant=consultant)
    assert form.is_valid(), form.errors
