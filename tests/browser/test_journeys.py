"""The main journeys, in a real browser: a coordinator logs a week, another approves it;
the consultant signs in by e-mailed code, sees the hours and their history, disputes
them, logs hours of their own and changes how they are paid."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format

from consultants.models import Consultant
from engagements.models import Contribution, Dispute
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve
from tests.browser.conftest import sign_in_by_code, sign_in_by_password
from tests.factories import EngagementFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory


@pytest.fixture
def cast(db):
    maria = UserFactory(email="maria@example.org", name="Maria", roles=["coordinator"])
    dev = UserFactory(email="dev@example.org", name="Dev", roles=["coordinator"])
    river_user = UserFactory(email="river@example.org", name="River", roles=["consultant"])
    river = Consultant.objects.create(display_name="River", user=river_user)
    engagement = EngagementFactory(consultant=river, role="Instrument reviewer")
    return {"maria": maria, "dev": dev, "river": river, "engagement": engagement}


def _page_url(base, name, **kwargs):
    return base + reverse(name, kwargs=kwargs or None)


def coordinator_logs_a_week(page, a11y, base, cast) -> str:
    """Maria logs 2.5 hours of work for River today, on the week grid; returns how."""
    try:
        url = _page_url(base, "engagements:week", public_id=cast["river"].public_id)
    except NoReverseMatch:
        contribution_create(
            engagement=cast["engagement"],
            by=cast["maria"],
            kind="hours",
            activity="work",
            date=timezone.localdate(),
            quantity=Decimal("2.5"),
            description="Reviewed the survey draft",
            submit=True,
        )
        return "service"
    sign_in_by_password(page, base, cast["maria"].email, PASSWORD)
    page.goto(url)
    a11y.check(page)
    today = timezone.localdate()
    cell = page.get_by_label(f"Work hours on {date_format(today, 'l j F')}", exact=True)
    cell.fill("2.5")
    page.get_by_label("Note for these hours (optional)").fill("Reviewed the survey draft")
    page.get_by_role("button", name="Save and send for approval").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert "1 entries were saved and sent for approval." in page.content() or (
        "sent for approval" in page.content()
    )
    _sign_out(page, a11y, base)
    return "week grid"


def another_coordinator_approves(page, a11y, base, cast, entry: Contribution) -> str:
    try:
        url = _page_url(base, "engagements:review")
    except NoReverseMatch:
        contribution_approve(contribution=entry, by=cast["dev"])
        return "service"
    sign_in_by_password(page, base, cast["dev"].email, PASSWORD)
    page.goto(url)
    a11y.check(page)
    page.locator(f"input[name=selected][value='{entry.public_id}']").check()
    page.get_by_role("button", name="Approve selected").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    _sign_out(page, a11y, base)
    return "review page"


def _sign_out(page, a11y, base):
    page.goto(base + reverse("account_logout"))
    a11y.check(page)
    page.locator("main").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_hours_logged_and_approved_reach_the_consultant(page, a11y, live_server, cast):
    base = live_server.url

    # (a) a coordinator logs the week, another approves it
    logged_by = coordinator_logs_a_week(page, a11y, base, cast)
    entry = Contribution.objects.get(engagement=cast["engagement"])
    assert (entry.status, entry.quantity, entry.logged_by) == (
        "submitted",
        Decimal("2.50"),
        cast["maria"],
    ), logged_by
    approved_by = another_coordinator_approves(page, a11y, base, cast, entry)
    entry.refresh_from_db()
    assert (entry.status, entry.approved_by, entry.amount) == (
        "approved",
        cast["dev"],
        Decimal("150.00"),
    ), approved_by

    # (b) the consultant signs in by e-mailed code
    subject = sign_in_by_code(page, a11y, base, "river@example.org")
    assert subject == "Your sign-in code"
    page.wait_for_url(base + "/me/")
    a11y.check(page)
    assert page.title() == "My home · Honora"
    month = page.locator("section", has=page.get_by_role("heading", name="This month"))
    assert "Earned (approved) $150.00" in " ".join(month.inner_text().split())

    # ... sees the new hours in their work
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My work").click()
    page.wait_for_url("**/me/contributions/")
    a11y.check(page)
    row = page.locator("tbody tr").filter(has_text="2.5 hours")
    # Approved work says by when it will be paid (the promise: approval + the target).
    entry.refresh_from_db()
    assert entry.promised_pay_date > timezone.localdate(entry.approved_at)
    promised = date_format(entry.promised_pay_date, "MONTH_DAY_FORMAT")
    assert " ".join(row.inner_text().split()).endswith(
        f"$60.00 an hour $150.00 Approved Paid by {promised}"
    )

    # ... opens the entry and reads its history in plain words
    row.get_by_role("link").click()
    page.wait_for_url(f"**/me/contributions/{entry.public_id}/")
    a11y.check(page)
    history = page.locator(
        "section", has=page.get_by_role("heading", name="Everything that happened")
    )
    text = history.inner_text()
    assert "Maria (coordinator) submitted this entry for approval on" in text
    assert "Dev (coordinator) approved this entry on" in text

    # ... and disputes it
    page.get_by_label("What is wrong with this entry?").fill("It was 3 hours, with the prep.")
    page.get_by_role("button", name="Mark as disputed").click()
    page.wait_for_url(f"**/me/contributions/{entry.public_id}/")
    a11y.check(page)
    assert "marked as disputed" in page.locator(".messages").inner_text()
    dispute = Dispute.objects.get(contribution=entry)
    assert (dispute.status, dispute.comment, dispute.raised_by) == (
        "open",
        "It was 3 hours, with the prep.",
        cast["river"].user,
    )
    assert "You disputed this entry on" in page.locator("main").inner_text()

    # ... logs hours of their own, getting an error first, with the input kept
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log hours").click()
    page.wait_for_url("**/me/log/")
    a11y.check(page)
    page.get_by_label("Preparation").check()
    page.get_by_label("Hours").fill("1.3")
    page.get_by_label("What you did (optional)").fill("Read the codebook")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert "quarter hours" in page.locator(".error-summary").inner_text()
    # focus starts on the summary of what to fix
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    assert page.get_by_label("What you did (optional)").input_value() == "Read the codebook"
    assert page.get_by_label("Preparation").is_checked()
    page.get_by_label("Hours").fill("1.25")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url("**/me/contributions/*/")
    a11y.check(page)
    own = Contribution.objects.get(logged_by=cast["river"].user)
    assert (own.status, own.quantity, own.activity) == ("submitted", Decimal("1.25"), "preparation")
    assert "You submitted this entry for approval on" in page.locator("main").inner_text()

    # ... and changes how they are paid
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Preferences").click()
    page.wait_for_url("**/me/preferences/")
    a11y.check(page)
    page.get_by_label("Gift card", exact=True).check()
    page.get_by_role("button", name="Save preferences").click()
    page.wait_for_load_state("load")
    a11y.check(page)
    assert "Tell us which store" in page.locator(".error-summary").inner_text()
    page.get_by_label("Gift card store").fill("Grocery Outlet")
    page.get_by_role("button", name="Save preferences").click()
    page.wait_for_url("**/me/preferences/")
    a11y.check(page)
    assert "Your preferences are saved." in page.locator(".messages").inner_text()
    river = Consultant.objects.get(pk=cast["river"].pk)
    assert (river.payout_method, river.gift_card_store) == ("gift_card", "Grocery Outlet")
    assert river.history.latest().history_user == river.user
    assert (
        "You changed preferred payout method from Check to Gift card"
        in page.locator("main").inner_text()
    )

    # the placeholders have their place in the navigation
    for name in ("Payments", "Receipts"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
        page.wait_for_load_state("load")
        a11y.check(page)
        assert name.lower() in page.get_by_role("heading", level=1).inner_text().lower()

    assert len(a11y.checked) >= 15


def test_the_portal_works_on_a_phone(phone, a11y, live_server, client, cast, make_entry_now):
    from tests.browser.conftest import sign_in_with_session

    make_entry_now(cast, "approved", "3")
    make_entry_now(cast, "submitted_by_consultant", "1.5")
    sign_in_with_session(phone.context, client, cast["river"].user, live_server.url)
    for path in ("/me/", "/me/contributions/", "/me/log/", "/me/preferences/"):
        phone.goto(live_server.url + path)
        a11y.check(phone)
        exit_button = phone.get_by_role("link", name="Exit this page")
        assert exit_button.is_visible()
        box = exit_button.bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24  # WCAG 2.2 target size
    phone.goto(live_server.url + "/me/contributions/")
    row = phone.locator("tbody tr").filter(has_text="1.5 hours")
    assert "about $90.00" in row.inner_text()


@pytest.fixture
def make_entry_now(db):
    def make(cast, state, quantity):
        day = timezone.localdate() - timedelta(days=1)
        if state == "submitted_by_consultant":
            by, submit = cast["river"].user, True
        else:
            by, submit = cast["maria"], True
        c = contribution_create(
            engagement=cast["engagement"],
            by=by,
            kind="hours",
            activity="work",
            date=day,
            quantity=Decimal(quantity),
            submit=submit,
        )
        if state == "approved":
            c = contribution_approve(contribution=c, by=cast["dev"])
        return c

    return make
