"""Logging work: the week grid, single entries with receipts, engagements."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from engagements.models import Contribution, Engagement
from engagements.weekgrid import week_label
from tests.engagements.pages_support import PDF, PNG, log, text
from tests.factories import EngagementFactory, PhaseFactory, RateCardFactory

pytestmark = pytest.mark.django_db


def last_week() -> date:
    today = timezone.localdate()
    return today - timedelta(days=today.weekday() + 7)


def week_url(consultant, monday):
    return (
        reverse("engagements:week", kwargs={"public_id": consultant.public_id})
        + f"?week={week_label(monday)}"
    )


def cell(engagement, activity, day_index):
    return f"h-{engagement.public_id.hex}-{activity}-{day_index}"


# --- the week grid ----------------------------------------------------------------


def test_week_grid_logs_every_filled_cell_across_engagements(client, coordinator, engagement):
    second = EngagementFactory(
        consultant=engagement.consultant, phase=PhaseFactory(study=engagement.phase.study)
    )
    monday = last_week()
    client.force_login(coordinator)
    page = client.get(week_url(engagement.consultant, monday))
    assert page.status_code == 200
    assert "<title>Log a week · Honora</title>" in text(page)
    assert text(page).count("<fieldset") >= 2  # one fieldset and legend per engagement

    response = client.post(
        week_url(engagement.consultant, monday),
        {
            cell(engagement, "work", 0): "2",
            cell(engagement, "meeting", 2): "1:30",
            cell(second, "preparation", 4): "0.75",
            f"note-{engagement.public_id.hex}": "Advisory board",
            "then": "submit",
        },
    )
    assert response.status_code == 302
    rows = Contribution.objects.order_by("date")
    assert [(r.engagement_id, r.activity, r.date, r.quantity) for r in rows] == [
        (engagement.pk, "work", monday, Decimal("2.00")),
        (engagement.pk, "meeting", monday + timedelta(days=2), Decimal("1.50")),
        (second.pk, "preparation", monday + timedelta(days=4), Decimal("0.75")),
    ]
    assert all(r.status == Contribution.Status.SUBMITTED for r in rows)
    assert rows[0].description == "Advisory board" and rows[2].description == ""
    assert all(r.logged_by == coordinator for r in rows)


def test_week_grid_saves_drafts_when_asked(client, coordinator, engagement):
    monday = last_week()
    client.force_login(coordinator)
    client.post(
        week_url(engagement.consultant, monday),
        {cell(engagement, "work", 1): "1", "then": "draft"},
    )
    assert Contribution.objects.get().status == Contribution.Status.DRAFT


def test_a_bad_cell_saves_nothing_and_keeps_what_was_typed(client, coordinator, engagement):
    monday = last_week()
    client.force_login(coordinator)
    response = client.post(
        week_url(engagement.consultant, monday),
        {
            cell(engagement, "work", 0): "2",
            cell(engagement, "work", 1): "1.1",
            cell(engagement, "travel", 3): "lots",
            "then": "submit",
        },
    )
    assert response.status_code == 400
    assert Contribution.objects.count() == 0
    page = text(response)
    assert "Nothing was saved" in page
    assert "Use quarter hours" in page and "Enter hours as a number" in page
    assert 'value="1.1"' in page and 'value="lots"' in page and 'value="2"' in page
    assert 'aria-invalid="true"' in page


def test_a_cell_the_service_refuses_rolls_back_the_whole_week(client, coordinator, engagement):
    engagement.hours_cap = Decimal("3")
    engagement.save()
    monday = last_week()
    client.force_login(coordinator)
    response = client.post(
        week_url(engagement.consultant, monday),
        {
            cell(engagement, "work", 0): "2",
            cell(engagement, "work", 1): "2",  # the cap is passed here
            "then": "submit",
        },
    )
    assert response.status_code == 400
    assert Contribution.objects.count() == 0
    assert "above its cap" in text(response)
    assert 'value="2"' in text(response)


def test_week_grid_shows_hours_already_logged(client, coordinator, engagement):
    monday = last_week()
    log(engagement, coordinator, date=monday, quantity=Decimal("3.25"))
    client.force_login(coordinator)
    response = client.get(week_url(engagement.consultant, monday))
    assert "Already logged" in text(response) and "3.25" in text(response)


def test_after_saving_each_cell_shows_what_it_holds_with_its_status_and_totals(
    client, coordinator, coordinator2, engagement
):
    monday = last_week()
    client.force_login(coordinator)
    response = client.post(
        week_url(engagement.consultant, monday),
        {cell(engagement, "work", 0): "2.5", cell(engagement, "meeting", 0): "1", "then": "submit"},
        follow=True,
    )
    assert response.status_code == 200
    work = Contribution.objects.get(activity="work")
    grid = response.context["grid"]
    block = grid.blocks[0]
    work_row = next(r for r in block.rows if r.activity == "work")
    # The cell is empty for new hours, and lists what is already in it, with its status.
    first = work_row.cells[0]
    assert first.raw == "" and first.logged == [work]
    page = text(response)
    logged_list = page.split(f'id="{first.name}-logged"', 1)[1].split("</ul>", 1)[0]
    assert f"/contributions/{work.public_id}/" in logged_list
    assert "2.5 h" in logged_list and "Waiting" in logged_list
    assert f'aria-describedby="{first.name}-logged"' in page
    # Row, day and week totals, and the amount at the rate card's $60.00 an hour.
    assert work_row.total == Decimal("2.5")
    assert block.day_totals[0] == Decimal("3.5") and block.total == Decimal("3.5")
    assert block.amount == Decimal("210.00") and block.amount_is_estimate
    assert "Logged this week: 3.5 h" in page and "about $210.00" in page

    # A draft says so; a returned entry shows, marked, but no longer counts.
    client.post(
        week_url(engagement.consultant, monday),
        {cell(engagement, "travel", 1): "0.5", "then": "draft"},
    )
    from engagements.services.reviews import contribution_reject

    contribution_reject(contribution=work, by=coordinator2, reason="Wrong day")
    response = client.get(week_url(engagement.consultant, monday))
    block = response.context["grid"].blocks[0]
    travel = next(r for r in block.rows if r.activity == "travel").cells[1]
    assert [e.status for e in travel.logged] == [Contribution.Status.DRAFT]
    page = text(response)
    assert ">Draft</span>" in page and ">Returned</span>" in page
    assert block.day_totals[0] == Decimal("1") and block.total == Decimal("1.5")
    assert block.amount == Decimal("90.00")


def test_week_grid_with_an_unreadable_week_falls_back_to_this_week(client, coordinator, engagement):
    client.force_login(coordinator)
    response = client.get(
        reverse("engagements:week", kwargs={"public_id": engagement.consultant.public_id})
        + "?week=nonsense"
    )
    assert response.status_code == 200
    assert response.context["week"] == week_label(timezone.localdate())


def test_log_page_lists_the_chosen_consultants_engagements(client, coordinator, engagement):
    client.force_login(coordinator)
    response = client.get(
        reverse("engagements:log") + f"?consultant={engagement.consultant.public_id}"
    )
    assert response.status_code == 200
    assert engagement.role in text(response)
    assert f"?engagement={engagement.public_id}" in text(response)


# --- single entries and receipts ----------------------------------------------------


def new_url(engagement):
    return reverse("engagements:contribution_create") + f"?engagement={engagement.public_id}"


def entry(engagement, **overrides):
    data = {
        "engagement": str(engagement.public_id),
        "kind": "reimbursement",
        "activity": "travel",
        "date": "2026-03-12",
        "quantity": "",
        "claimed_amount": "23.40",
        "description": "Bus fare",
        "then": "submit",
    }
    data.update(overrides)
    return data


def test_single_entry_with_a_pdf_receipt(client, coordinator, engagement):
    client.force_login(coordinator)
    assert client.get(new_url(engagement)).status_code == 200
    upload = SimpleUploadedFile("Maria Lopez bus.pdf", PDF, content_type="application/pdf")
    response = client.post(new_url(engagement), entry(engagement, attachment=upload))
    c = Contribution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "engagements:contribution_detail", kwargs={"public_id": c.public_id}
    )
    assert c.kind == "reimbursement" and c.claimed_amount == Decimal("23.40")
    assert c.status == Contribution.Status.SUBMITTED
    # Stored privately under a random name: the person's file name is not kept.
    assert c.attachment.name.startswith("contributions/") and c.attachment.name.endswith(".pdf")
    assert "Maria" not in c.attachment.name
    with c.attachment.open("rb") as handle:
        assert handle.read() == PDF


def test_single_honorarium_as_a_draft(client, coordinator, engagement):
    client.force_login(coordinator)
    response = client.post(
        new_url(engagement),
        entry(
            engagement,
            kind="honorarium",
            activity="meeting",
            quantity="1",
            claimed_amount="",
            then="draft",
        ),
    )
    assert response.status_code == 302
    c = Contribution.objects.get()
    assert (c.kind, c.quantity, c.status) == ("honorarium", Decimal("1.00"), "draft")


def test_a_pdf_that_is_really_html_is_refused(client, coordinator, engagement):
    client.force_login(coordinator)
    fake = SimpleUploadedFile(
        "receipt.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf"
    )
    response = client.post(new_url(engagement), entry(engagement, attachment=fake))
    assert response.status_code == 400
    assert Contribution.objects.count() == 0
    page = text(response)
    assert "none of those" in page
    assert 'value="23.40"' in page and "Bus fare" in page  # what was typed is kept
    assert "choose the receipt again" in page


def test_a_receipt_above_the_size_limit_is_refused(client, coordinator, engagement, settings):
    settings.MAX_RECEIPT_UPLOAD_BYTES = 2048
    client.force_login(coordinator)
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 4096, content_type="image/png")
    response = client.post(new_url(engagement), entry(engagement, attachment=big))
    assert response.status_code == 400
    assert "at most 2.0" in text(response)
    assert Contribution.objects.count() == 0


def test_service_errors_land_on_the_field(client, coordinator, engagement):
    client.force_login(coordinator)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(
        new_url(engagement),
        entry(
            engagement, kind="hours", activity="work", quantity="2", claimed_amount="", date=future
        ),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["date"] == [
        "The date of the work cannot be in the future."
    ]
    assert Contribution.objects.count() == 0


def test_missing_quantity_for_hours_is_a_clear_error(client, coordinator, engagement):
    client.force_login(coordinator)
    response = client.post(
        new_url(engagement), entry(engagement, kind="hours", quantity="", claimed_amount="")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["quantity"] == ["Enter the hours."]


# --- receipts are served only to those allowed ---------------------------------------


@pytest.fixture
def with_receipt(engagement, consultant_user):
    return log(
        engagement,
        consultant_user,
        kind="reimbursement",
        activity="travel",
        quantity=None,
        claimed_amount=Decimal("12.00"),
        attachment=SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf"),
    )


def attachment_url(c):
    return reverse("engagements:contribution_attachment", kwargs={"public_id": c.public_id})


def test_the_owner_downloads_their_receipt(client, consultant_user, with_receipt):
    client.force_login(consultant_user)
    response = client.get(attachment_url(with_receipt))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "receipt-2026-03-12.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_staff_download_receipts(client, finance, with_receipt):
    client.force_login(finance)
    assert client.get(attachment_url(with_receipt)).status_code == 200


def test_an_outsider_gets_404_and_anonymous_is_sent_to_sign_in(client, outsider_user, with_receipt):
    client.force_login(outsider_user)
    assert client.get(attachment_url(with_receipt)).status_code == 404
    client.logout()
    response = client.get(attachment_url(with_receipt))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_entry_without_a_receipt_has_nothing_to_download(client, coordinator, engagement):
    c = log(engagement, coordinator)
    client.force_login(coordinator)
    assert client.get(attachment_url(c)).status_code == 404


# --- engagements ----------------------------------------------------------------------


def test_coordinator_engages_a_consultant(client, coordinator, consultant, engagement):
    phase = PhaseFactory(study=engagement.phase.study, name="Analysis")
    client.force_login(coordinator)
    url = reverse("engagements:engagement_create") + f"?consultant={consultant.public_id}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "consultant": str(consultant.public_id),
            "phase": phase.pk,
            "role": "Analysis partner",
            "rate_card": str(engagement.rate_card.public_id),
            "hours_cap": "40",
            "budget": "",
        },
    )
    created = Engagement.objects.get(phase=phase)
    assert response.status_code == 302
    assert (created.role, created.hours_cap, created.budget) == (
        "Analysis partner",
        Decimal("40.00"),
        None,
    )
    assert created.history.latest().history_action == "engagement.created"


def test_the_rate_card_must_belong_to_the_phases_study(client, coordinator, consultant, engagement):
    other_card = RateCardFactory()  # another study
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:engagement_create"),
        {
            "consultant": str(consultant.public_id),
            "phase": engagement.phase.pk,
            "role": "Second role",
            "rate_card": str(other_card.public_id),
        },
    )
    assert response.status_code == 400
    assert "same study" in text(response) or "study this phase belongs to" in text(response)
    assert Engagement.objects.count() == 1


def test_the_same_role_twice_in_a_phase_is_refused_on_the_role_field(
    client, coordinator, consultant, engagement
):
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:engagement_create"),
        {
            "consultant": str(consultant.public_id),
            "phase": engagement.phase.pk,
            "role": engagement.role.upper(),
            "rate_card": str(engagement.rate_card.public_id),
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["role"] == [
        "This consultant already has that role in this phase."
    ]
