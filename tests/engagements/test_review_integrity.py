"""An approval is separate from every change to the entry, and tied to what was reviewed.

Whoever last changed what a submitted entry says does not approve it (separation
of duties, in the service and in the database), and a decision names the version
of the entry its author looked at: one taken on an older version is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.errors import NotAllowed, StateConflict, ValidationFailed
from core.history import history_entries
from engagements.models import Contribution
from engagements.services.contributions import contribution_submit, contribution_update
from engagements.services.reviews import (
    contribution_approve,
    contribution_reject,
    contributions_decide,
)
from tests.engagements.pages_support import log, text
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Contribution.Status


def url(name, c):
    return reverse(f"engagements:{name}", kwargs={"public_id": c.public_id})


def edit(c, by, **changes):
    return contribution_update(contribution=c, by=by, reason="Typo in the hours", **changes)


# --- whoever changed it does not approve it -----------------------------------------------


def test_the_coordinator_who_changed_a_submitted_entry_cannot_approve_it(
    engagement, consultant_user, coordinator, coordinator2
):
    c = log(engagement, consultant_user)
    edit(c, coordinator2, quantity=Decimal("5"))
    c.refresh_from_db()
    assert c.last_edited_by == coordinator2

    with pytest.raises(NotAllowed) as refused:
        contribution_approve(contribution=c, by=coordinator2)
    assert refused.value.code == "own_edit"
    assert "You changed this entry" in refused.value.message
    c.refresh_from_db()
    assert c.status == S.SUBMITTED and c.approved_by is None

    # Someone else approves it, at the changed quantity.
    done = contribution_approve(contribution=c, by=coordinator)
    assert done.status == S.APPROVED and done.amount == Decimal("300.00")


def test_a_change_that_changes_nothing_does_not_make_you_its_editor(
    engagement, consultant_user, coordinator2
):
    c = log(engagement, consultant_user)
    edit(c, coordinator2, quantity=c.quantity)
    c.refresh_from_db()
    assert c.last_edited_by is None
    assert contribution_approve(contribution=c, by=coordinator2).status == S.APPROVED


def test_the_last_editor_is_who_changed_it_last(
    engagement, consultant_user, coordinator, coordinator2
):
    c = log(engagement, consultant_user)
    edit(c, coordinator2, quantity=Decimal("3"))
    edit(c, coordinator, quantity=Decimal("4"))
    with pytest.raises(NotAllowed):
        contribution_approve(contribution=c, by=coordinator)
    assert contribution_approve(contribution=c, by=coordinator2).status == S.APPROVED


def test_the_database_refuses_an_approver_who_last_changed_the_entry(
    engagement, consultant_user, coordinator2
):
    c = log(engagement, consultant_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Contribution.objects.filter(pk=c.pk).update(
            status=S.APPROVED,
            amount=Decimal("120.00"),
            approved_by=coordinator2,
            approved_at=timezone.now(),
            last_edited_by=coordinator2,
        )


def test_the_detail_page_says_why_and_refuses_the_approval(
    client, engagement, consultant_user, coordinator2
):
    c = log(engagement, consultant_user)
    edit(c, coordinator2, quantity=Decimal("3"))
    client.force_login(coordinator2)
    page = text(client.get(url("contribution_detail", c)))
    assert "You changed this entry, so someone else must approve it." in page
    assert url("contribution_approve", c) not in page
    response = client.post(url("contribution_approve", c))
    assert response.status_code == 403
    assert "You changed this entry" in text(response)
    c.refresh_from_db()
    assert c.status == S.SUBMITTED


def test_the_review_queue_marks_entries_you_changed_and_refuses_them(
    client, engagement, consultant_user, coordinator2
):
    c = log(engagement, consultant_user)
    edit(c, coordinator2, quantity=Decimal("3"))
    client.force_login(coordinator2)
    assert "Changed by you" in text(client.get(reverse("engagements:review")))
    response = client.post(
        reverse("engagements:review"),
        {"selected": [c.public_id], "decision": "approve"},
        follow=True,
    )
    [outcome] = response.context["outcomes"]
    assert outcome["outcome"] == "refused" and "You changed this entry" in outcome["message"]


# --- a decision names the version it was taken on --------------------------------------------


def test_every_change_before_approval_moves_the_version_on(engagement, coordinator, coordinator2):
    c = log(engagement, coordinator, submit=False)
    assert c.version == 1
    edit(c, coordinator, quantity=Decimal("3"))
    c = contribution_submit(contribution=c, by=coordinator)
    assert c.version == 3
    c = contribution_reject(contribution=c, by=coordinator2, reason="Split it")
    assert c.version == 4
    # The history does not list the bookkeeping columns as changes.
    fields = {ch.field for e in history_entries(c) for ch in e.changes}
    assert not fields & {"version", "last_edited_by"}


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_decision_on_an_older_version_is_refused(
    decide, engagement, consultant_user, coordinator, coordinator2
):
    c = log(engagement, consultant_user)
    seen = c.version
    edit(c, coordinator, quantity=Decimal("8"))  # while coordinator2 was reading
    kwargs = {"contribution": c, "by": coordinator2, "seen_version": seen}
    act = contribution_approve
    if decide == "reject":
        act, kwargs["reason"] = contribution_reject, "Wrong day"
    with pytest.raises(StateConflict) as conflict:
        act(**kwargs)
    assert conflict.value.code == "changed"
    assert "changed since you opened it" in conflict.value.message
    c.refresh_from_db()
    assert c.status == S.SUBMITTED

    kwargs["seen_version"] = str(c.version)  # as a form sends it
    assert act(**kwargs).status in (S.APPROVED, S.REJECTED)


def test_an_unreadable_version_is_a_validation_error(engagement, consultant_user, coordinator2):
    c = log(engagement, consultant_user)
    with pytest.raises(ValidationFailed) as invalid:
        contribution_approve(contribution=c, by=coordinator2, seen_version="v1")
    assert invalid.value.field == "seen_version"


def test_without_a_version_the_decision_is_as_before(engagement, consultant_user, coordinator2):
    c = log(engagement, consultant_user)
    edit(c, consultant_user, description="More detail")
    assert contribution_approve(contribution=c, by=coordinator2).status == S.APPROVED


def _seen_version(page: str, form_action: str) -> str:
    form = page[page.index(f'action="{form_action}"') :]
    return re.search(r'name="seen_version" value="(\d+)"', form)[1]


def test_the_detail_page_approves_only_the_version_it_showed(
    client, engagement, consultant_user, coordinator, coordinator2
):
    c = log(engagement, consultant_user)
    client.force_login(coordinator2)
    page = text(client.get(url("contribution_detail", c)))
    seen = _seen_version(page, url("contribution_approve", c))
    assert _seen_version(page, url("contribution_reject", c)) == seen

    edit(c, coordinator, quantity=Decimal("9"))  # meanwhile
    response = client.post(url("contribution_approve", c), {"seen_version": seen})
    assert response.status_code == 409
    assert "changed since you opened it" in text(response)
    response = client.post(
        url("contribution_reject", c), {"seen_version": seen, "reject-reason": "Wrong"}
    )
    assert response.status_code == 409
    c.refresh_from_db()
    assert c.status == S.SUBMITTED

    # The page shown with the refusal carries the new version: approving from it works.
    fresh = _seen_version(text(response), url("contribution_approve", c))
    response = client.post(url("contribution_approve", c), {"seen_version": fresh})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.status == S.APPROVED and c.quantity == Decimal("9")


def test_the_review_page_sends_each_rows_version_and_a_changed_row_is_not_approved(
    client, engagement, consultant_user, coordinator, coordinator2
):
    changed = log(engagement, consultant_user, description="changed")
    steady = log(engagement, consultant_user, description="steady")
    client.force_login(coordinator2)
    page = text(client.get(reverse("engagements:review")))
    versions = dict(re.findall(r'name="(version-[0-9a-f-]+)" value="(\d+)"', page))
    assert set(versions) == {f"version-{changed.public_id}", f"version-{steady.public_id}"}

    edit(changed, coordinator, quantity=Decimal("6"))  # meanwhile
    response = client.post(
        reverse("engagements:review"),
        {"selected": [changed.public_id, steady.public_id], "decision": "approve", **versions},
        follow=True,
    )
    outcomes = {o["url"].split("/")[-2]: o for o in response.context["outcomes"]}
    assert outcomes[str(changed.public_id)]["outcome"] == "conflict"
    assert "changed since you opened it" in outcomes[str(changed.public_id)]["message"]
    assert outcomes[str(steady.public_id)]["outcome"] == "approved"
    changed.refresh_from_db()
    assert changed.status == S.SUBMITTED


def test_a_bulk_return_also_checks_the_version(
    client, engagement, consultant_user, coordinator, coordinator2
):
    c = log(engagement, consultant_user)
    seen = c.version
    edit(c, coordinator, quantity=Decimal("6"))
    decisions = contributions_decide(
        by=coordinator2,
        contributions=[c],
        approve=False,
        reason="Wrong day",
        seen_versions={c.public_id: seen},
    )
    assert [d.outcome for d in decisions] == ["conflict"]


def test_a_third_person_is_still_needed_when_the_logger_edits(engagement, coordinator):
    """The logger's own edit changes nothing about who may approve."""
    c = log(engagement, coordinator)
    edit(c, coordinator, quantity=Decimal("3"))
    with pytest.raises(NotAllowed) as refused:
        contribution_approve(contribution=c, by=coordinator)
    assert refused.value.code == "own_entry"
    third = UserFactory(roles=["coordinator"])
    assert contribution_approve(contribution=c, by=third).status == S.APPROVED
    assert contribution_approve(contribution=c, by=third).approved_by == third
