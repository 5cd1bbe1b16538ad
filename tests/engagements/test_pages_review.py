"""Review, one entry's page, edits, adjustments and disputes."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from engagements.models import Contribution, Dispute
from engagements.services.contributions import contribution_adjust, contribution_update
from engagements.services.disputes import dispute_open, dispute_resolve
from engagements.services.reviews import contribution_approve, contribution_reject
from tests.engagements.pages_support import approved, count_queries, grow, log, text
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Contribution.Status


def url(name, c):
    return reverse(f"engagements:{name}", kwargs={"public_id": c.public_id})


# --- the review queue -------------------------------------------------------------------


def test_review_lists_submitted_entries_oldest_first_and_marks_your_own(
    client, coordinator, coordinator2, engagement, consultant_user
):
    first = log(engagement, consultant_user, description="first")
    mine = log(engagement, coordinator, description="mine")
    log(engagement, coordinator, submit=False, description="a draft")
    client.force_login(coordinator)
    response = client.get(reverse("engagements:review"))
    assert response.status_code == 200
    assert "<title>Review · Honora</title>" in text(response)
    assert [c.pk for c in response.context["rows"]] == [first.pk, mine.pk]
    assert "a draft" not in text(response)
    assert 'class="flag flag-own"' in text(response)


def test_review_offers_no_checkbox_for_your_own_entries_and_says_why(
    client, coordinator, coordinator2, engagement, consultant_user
):
    theirs = log(engagement, consultant_user)
    mine = log(engagement, coordinator)
    client.force_login(coordinator)
    page = text(client.get(reverse("engagements:review")))
    assert f'name="selected" value="{theirs.public_id}"' in page
    assert f'value="{mine.public_id}"' not in page
    assert "You logged this: another coordinator approves it" in page
    # Select-all is there for JavaScript to show; hidden without it.
    assert "data-select-all-wrap hidden" in page and "js/review.js" in page
    # The other coordinator sees a checkbox for it, and none for their own.
    client.force_login(coordinator2)
    page = text(client.get(reverse("engagements:review")))
    assert f'name="selected" value="{mine.public_id}"' in page
    assert "You logged this" not in page


def test_review_offers_no_checkbox_for_an_entry_you_changed(
    client, coordinator, coordinator2, engagement, consultant_user
):
    c = log(engagement, consultant_user)
    contribution_update(contribution=c, by=coordinator, reason="Typo", description="Corrected")
    client.force_login(coordinator)
    page = text(client.get(reverse("engagements:review")))
    assert f'value="{c.public_id}"' not in page
    assert "You changed this: another coordinator approves it" in page


def test_a_forged_selection_of_your_own_entry_is_still_refused(client, coordinator, engagement):
    mine = log(engagement, coordinator)
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:review"),
        {"selected": [mine.public_id], "decision": "approve"},
        follow=True,
    )
    assert response.context["outcomes"][0]["outcome"] == "refused"
    mine.refresh_from_db()
    assert mine.status == S.SUBMITTED


def test_review_filters_by_consultant(
    client, coordinator, engagement, outsider_engagement, consultant_user, outsider_user
):
    log(engagement, consultant_user)
    theirs = log(outsider_engagement, outsider_user)
    client.force_login(coordinator)
    response = client.get(
        reverse("engagements:review") + f"?consultant={outsider_engagement.consultant.public_id}"
    )
    assert [c.pk for c in response.context["rows"]] == [theirs.pk]


def test_bulk_approve_reports_each_rows_outcome(
    client, coordinator, coordinator2, engagement, consultant_user
):
    theirs = log(engagement, consultant_user)
    mine = log(engagement, coordinator)
    stale = log(engagement, consultant_user)
    contribution_approve(contribution=stale, by=coordinator2)  # meanwhile
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:review"),
        {"selected": [theirs.public_id, mine.public_id, stale.public_id], "decision": "approve"},
        follow=True,
    )
    assert response.status_code == 200
    outcomes = {o["url"].split("/")[-2]: o for o in response.context["outcomes"]}
    assert outcomes[str(theirs.public_id)]["outcome"] == "approved"
    assert outcomes[str(mine.public_id)]["outcome"] == "refused"
    assert "someone else" in outcomes[str(mine.public_id)]["message"]
    assert outcomes[str(stale.public_id)]["outcome"] == "conflict"
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.status == S.APPROVED and theirs.approved_by == coordinator
    assert mine.status == S.SUBMITTED
    page = text(response)
    assert 'aria-live="polite"' in page and "Approved: 1" in page and "Refused: 1" in page
    # The outcome is shown once: a reload does not repeat it.
    assert client.get(reverse("engagements:review")).context["outcomes"] == []


def test_bulk_return_needs_a_reason_and_keeps_the_selection(
    client, coordinator, engagement, consultant_user
):
    c = log(engagement, consultant_user)
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:review"),
        {"selected": [c.public_id], "decision": "reject", "reason": "  "},
    )
    assert response.status_code == 400
    assert "Say why the entries are being returned." in text(response)
    assert f'value="{c.public_id}" id="select-{c.public_id}" checked' in text(response)
    c.refresh_from_db()
    assert c.status == S.SUBMITTED


def test_bulk_return_with_a_reason(client, coordinator, engagement, consultant_user):
    a, b = log(engagement, consultant_user), log(engagement, consultant_user)
    client.force_login(coordinator)
    client.post(
        reverse("engagements:review"),
        {"selected": [a.public_id, b.public_id], "decision": "reject", "reason": "Split prep"},
    )
    assert set(Contribution.objects.values_list("status", "rejected_reason")) == {
        (S.REJECTED, "Split prep")
    }


def test_nothing_selected_is_a_clear_error(client, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("engagements:review"), {"decision": "approve"})
    assert response.status_code == 400
    assert "Choose at least one entry." in text(response)


def test_review_csv_export(client, coordinator, engagement, consultant_user):
    log(engagement, consultant_user, description="=HYPERLINK(1)")
    client.force_login(coordinator)
    response = client.get(reverse("engagements:review") + "?format=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in body


def test_review_filter_lists_only_consultants_with_work_waiting_and_the_one_chosen(
    client, coordinator, coordinator2, engagement, outsider_engagement, consultant_user
):
    """The consultant filter lists who has entries waiting, not every consultant; one
    chosen with nothing waiting (all approved meanwhile) stays chosen and listed."""
    from tests.factories import ConsultantFactory

    idle = ConsultantFactory(display_name="Nobody Waiting")
    log(engagement, consultant_user)
    client.force_login(coordinator)
    review_url = reverse("engagements:review")

    page = text(client.get(review_url))
    assert engagement.consultant.display_name in page
    assert outsider_engagement.consultant.display_name not in page
    assert "Nobody Waiting" not in page

    chosen = client.get(review_url, {"consultant": idle.public_id})
    assert chosen.status_code == 200
    assert list(chosen.context["rows"]) == []
    assert f'<option value="{idle.public_id}" selected>Nobody Waiting</option>' in text(chosen)


def test_review_queries_do_not_grow_with_the_data(
    client, coordinator, coordinator2, engagement, consultant_user
):
    for _ in range(3):
        log(engagement, consultant_user)
    client.force_login(coordinator)
    review_url = reverse("engagements:review")
    client.get(review_url)
    small = count_queries(client, review_url)
    grow(engagement, coordinator2, coordinator, consultants=5, per_consultant=6)
    large = count_queries(client, review_url)
    assert small == large


# --- one entry -------------------------------------------------------------------------


def test_detail_shows_rate_amount_adjustments_disputes_and_history(
    client, coordinator, coordinator2, engagement, consultant_user
):
    c = log(engagement, consultant_user, quantity=Decimal("2"))
    contribution_update(
        contribution=c, by=coordinator, quantity=Decimal("2.5"), reason="included prep time"
    )
    c = contribution_approve(contribution=c, by=coordinator2)
    adjustment = contribution_adjust(
        contribution=c, by=coordinator, quantity_delta="0.5", reason="forgot travel"
    )
    dispute_open(contribution=c, by=consultant_user, comment="Was 3 hours")
    client.force_login(coordinator2)
    response = client.get(url("contribution_detail", c))
    page = text(response)
    assert response.status_code == 200
    assert "<title>Entry · Honora</title>" in page
    assert "60.00" in page and "150.00" in page  # the frozen rate and amount
    assert "forgot travel" in page and "Was 3 hours" in page
    assert "Maria (coordinator) changed quantity from 2 to 2.5" in page
    assert "included prep time" in page
    assert "You approved this entry" in page
    assert url("contribution_detail", adjustment) in page
    assert "Add an adjustment" in page  # approved: only adjustments remain
    assert url("contribution_edit", c) not in page


def test_detail_queries_do_not_grow_with_history_and_adjustments(
    client, coordinator, coordinator2, engagement, consultant_user
):
    c = approved(engagement, consultant_user, coordinator)
    contribution_adjust(contribution=c, by=coordinator, quantity_delta="1", reason="r0")
    client.force_login(coordinator2)
    detail = url("contribution_detail", c)
    client.get(detail)
    small = count_queries(client, detail)
    for i in range(1, 10):
        adj = contribution_adjust(
            contribution=c, by=coordinator, quantity_delta="0.25", reason=f"r{i}"
        )
        if i % 2:
            contribution_approve(contribution=adj, by=coordinator2)
        d = dispute_open(contribution=c, by=consultant_user, comment=f"c{i}")
        dispute_resolve(dispute=d, by=coordinator2, resolution="ok")
    large = count_queries(client, detail)
    assert small == large


def test_approving_your_own_entry_is_refused_with_a_message(client, coordinator, engagement):
    c = log(engagement, coordinator)
    client.force_login(coordinator)
    page = client.get(url("contribution_detail", c))
    assert "You logged this entry, so someone else must approve it." in text(page)
    response = client.post(url("contribution_approve", c))
    assert response.status_code == 403
    assert "someone else must approve it" in text(response)
    c.refresh_from_db()
    assert c.status == S.SUBMITTED


def test_approve_one_entry(client, coordinator2, engagement, consultant_user):
    c = log(engagement, consultant_user)
    client.force_login(coordinator2)
    response = client.post(url("contribution_approve", c))
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.status == S.APPROVED and c.amount == Decimal("120.00")


def test_a_stale_approval_is_409_not_500(client, coordinator, coordinator2, engagement):
    c = log(engagement, coordinator)
    contribution_reject(contribution=c, by=coordinator2, reason="no")
    third = UserFactory(roles=["coordinator"])
    client.force_login(third)
    response = client.post(url("contribution_approve", c))
    assert response.status_code == 409
    assert "returned" in text(response).lower()


def test_return_without_a_reason_is_refused(client, coordinator2, engagement, consultant_user):
    c = log(engagement, consultant_user)
    client.force_login(coordinator2)
    response = client.post(url("contribution_reject", c), {"reject-reason": ""})
    assert response.status_code == 400
    assert "Say why the entry is being returned." in text(response)
    c.refresh_from_db()
    assert c.status == S.SUBMITTED
    response = client.post(url("contribution_reject", c), {"reject-reason": "Split it"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert (c.status, c.rejected_reason) == (S.REJECTED, "Split it")


def test_submit_a_draft(client, coordinator, engagement):
    c = log(engagement, coordinator, submit=False)
    client.force_login(coordinator)
    assert client.post(url("contribution_submit", c)).status_code == 302
    c.refresh_from_db()
    assert c.status == S.SUBMITTED


def test_action_urls_take_only_post(client, coordinator, engagement):
    c = log(engagement, coordinator)
    client.force_login(coordinator)
    assert client.get(url("contribution_approve", c)).status_code == 405


# --- edits ----------------------------------------------------------------------------


def edit_data(**overrides):
    data = {
        "kind": "hours",
        "activity": "work",
        "date": "2026-03-12",
        "quantity": "2.5",
        "claimed_amount": "",
        "description": "Advisory call",
        "reason": "",
    }
    data.update(overrides)
    return data


def test_editing_a_submitted_entry_needs_a_reason(client, coordinator, engagement):
    c = log(engagement, coordinator)
    client.force_login(coordinator)
    response = client.post(url("contribution_edit", c), edit_data())
    assert response.status_code == 400
    assert "Say why you are changing an entry that was already submitted." in text(response)
    assert 'value="2.5"' in text(response)
    c.refresh_from_db()
    assert c.quantity == Decimal("2.00")
    response = client.post(url("contribution_edit", c), edit_data(reason="prep time"))
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.quantity == Decimal("2.50")
    assert c.history.latest().history_change_reason == "prep time"


def test_a_draft_is_edited_freely(client, coordinator, engagement):
    c = log(engagement, coordinator, submit=False)
    client.force_login(coordinator)
    response = client.post(url("contribution_edit", c), edit_data(quantity="3"))
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.quantity == Decimal("3.00")


def test_an_approved_entry_cannot_be_edited(client, coordinator, coordinator2, engagement):
    c = approved(engagement, coordinator, coordinator2)
    client.force_login(coordinator)
    assert client.get(url("contribution_edit", c)).status_code == 409
    response = client.post(url("contribution_edit", c), edit_data(reason="x"))
    assert response.status_code == 409
    c.refresh_from_db()
    assert c.quantity == Decimal("2.00")


# --- adjustments --------------------------------------------------------------------------


def test_adjustment_needs_a_reason_then_waits_for_someone_else(
    client, coordinator, coordinator2, engagement, consultant_user
):
    c = approved(engagement, consultant_user, coordinator2)
    client.force_login(coordinator)
    response = client.post(
        url("contribution_adjust", c), {"adjust-quantity_delta": "0.5", "adjust-reason": ""}
    )
    assert response.status_code == 400
    assert "Say why the entry is being adjusted." in text(response)
    assert Contribution.objects.filter(adjusts=c).count() == 0

    response = client.post(
        url("contribution_adjust", c),
        {"adjust-quantity_delta": "-0.5", "adjust-reason": "double counted"},
    )
    adjustment = Contribution.objects.get(adjusts=c)
    assert response.status_code == 302
    assert response["Location"] == url("contribution_detail", adjustment)
    assert adjustment.quantity == Decimal("-0.50") and adjustment.status == S.SUBMITTED
    c.refresh_from_db()
    assert c.quantity == Decimal("2.00") and c.amount == Decimal("120.00")


def test_an_adjustment_that_goes_below_zero_is_refused_on_its_field(
    client, coordinator, coordinator2, engagement
):
    c = approved(engagement, coordinator, coordinator2)
    client.force_login(coordinator)
    response = client.post(
        url("contribution_adjust", c), {"adjust-quantity_delta": "-5", "adjust-reason": "x"}
    )
    assert response.status_code == 400
    assert "below zero" in text(response)


def test_reimbursements_are_adjusted_by_an_amount(client, coordinator, coordinator2, engagement):
    c = approved(
        engagement,
        coordinator,
        coordinator2,
        kind="reimbursement",
        activity="travel",
        quantity=None,
        claimed_amount=Decimal("20.00"),
    )
    client.force_login(coordinator2)
    response = client.post(
        url("contribution_adjust", c),
        {"adjust-amount_delta": "4.50", "adjust-reason": "parking too"},
    )
    assert response.status_code == 302
    assert Contribution.objects.get(adjusts=c).claimed_amount == Decimal("4.50")


# --- disputes ------------------------------------------------------------------------------


def test_disputes_page_lists_open_disputes_and_resolves_one(
    client, coordinator, engagement, consultant_user
):
    c = log(engagement, consultant_user)
    dispute = dispute_open(contribution=c, by=consultant_user, comment="Was 3 hours")
    client.force_login(coordinator)
    page = client.get(reverse("engagements:disputes"))
    assert "Was 3 hours" in text(page)
    resolve = reverse("engagements:dispute_resolve", kwargs={"public_id": dispute.public_id})
    response = client.post(resolve, {"resolution": ""})
    assert response.status_code == 400
    assert "Say how the dispute was resolved." in text(response)
    response = client.post(resolve, {"resolution": "Corrected to 3 hours"})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED and dispute.resolved_by == coordinator
    # Resolving again is a conflict, shown on the page.
    again = client.post(resolve, {"resolution": "again"})
    assert again.status_code == 409
    assert "already resolved" in text(again)


def test_disputes_csv(client, coordinator, engagement, consultant_user):
    c = log(engagement, consultant_user, date=date(2026, 2, 1))
    dispute_open(contribution=c, by=consultant_user, comment="@SUM(1)")
    client.force_login(coordinator)
    response = client.get(reverse("engagements:disputes") + "?format=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'@SUM(1)" in body and "2026-02-01" in body
