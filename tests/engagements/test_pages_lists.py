"""All entries: filters, pagination, CSV export and its escaping."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from core.csv import csv_safe
from tests.engagements.pages_support import approved, count_queries, grow, log, streamed, text

pytestmark = pytest.mark.django_db


def test_list_filters_by_status_kind_and_dates(
    client, finance, coordinator, coordinator2, engagement, consultant_user
):
    early = log(engagement, consultant_user, date=date(2026, 1, 5))
    late = approved(engagement, coordinator, coordinator2, date=date(2026, 3, 1))
    money = log(
        engagement,
        consultant_user,
        kind="reimbursement",
        activity="travel",
        quantity=None,
        claimed_amount=Decimal("9.99"),
        date=date(2026, 2, 1),
    )
    client.force_login(finance)  # finance may read every list
    url = reverse("engagements:contributions")
    response = client.get(url)
    assert response.status_code == 200
    assert "<title>All entries · Honora</title>" in text(response)
    assert [c.pk for c in response.context["rows"]] == [late.pk, money.pk, early.pk]

    def pks(query):
        return [c.pk for c in client.get(url + query).context["rows"]]

    assert pks("?status=approved") == [late.pk]
    assert pks("?kind=reimbursement") == [money.pk]
    assert pks("?date_from=2026-01-01&date_to=2026-02-15") == [money.pk, early.pk]
    assert pks(f"?study={engagement.phase.study.public_id}") == [late.pk, money.pk, early.pk]
    assert pks(f"?consultant={engagement.consultant.public_id}&status=submitted") == [
        money.pk,
        early.pk,
    ]


def test_a_bad_filter_is_reported_and_left_out(client, coordinator, engagement, consultant_user):
    log(engagement, consultant_user)
    client.force_login(coordinator)
    response = client.get(
        reverse("engagements:contributions") + "?date_from=2026-03-01&date_to=2026-01-01"
    )
    assert response.status_code == 200
    assert "The end date is before the start date." in text(response)


def test_list_is_paginated_and_keeps_filters(client, coordinator, coordinator2, engagement):
    for day in range(1, 61):
        log(engagement, coordinator, date=date(2026, 1, 1 + day % 28), quantity=Decimal("0.25"))
    client.force_login(coordinator2)
    url = reverse("engagements:contributions") + "?kind=hours"
    first = client.get(url)
    assert len(first.context["rows"]) == 50
    assert "?kind=hours&amp;page=2" in text(first)
    second = client.get(url + "&page=2")
    assert len(second.context["rows"]) == 10


def test_csv_export_uses_the_same_filters_and_escapes_formulas(
    client, coordinator, coordinator2, engagement, consultant_user
):
    log(engagement, consultant_user, description='=HYPERLINK("http://x","y")')
    log(engagement, consultant_user, description="+1+2", date=date(2026, 3, 1))
    log(engagement, consultant_user, description="-3", date=date(2026, 3, 2))
    log(engagement, consultant_user, description="@SUM(A1)", date=date(2026, 3, 3))
    kept = approved(
        engagement, coordinator, coordinator2, description="plain", date=date(2026, 3, 4)
    )
    client.force_login(coordinator)
    response = client.get(reverse("engagements:contributions") + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    disposition = response["Content-Disposition"]
    assert (
        disposition.startswith('attachment; filename="contributions-')
        and "River" not in disposition
    )
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    descriptions = {r["description"] for r in rows}
    assert descriptions == {'\'=HYPERLINK("http://x","y")', "'+1+2", "'-3", "'@SUM(A1)", "plain"}
    plain = next(r for r in rows if r["description"] == "plain")
    assert plain["entry_id"] == str(kept.public_id)
    assert plain["consultant"] == "River"
    assert (plain["amount"], plain["rate"], plain["status"]) == ("120.00", "60.00", "approved")

    filtered = client.get(reverse("engagements:contributions") + "?format=csv&status=approved")
    assert [r["entry_id"] for r in csv.DictReader(io.StringIO(streamed(filtered)))] == [
        str(kept.public_id)
    ]


def test_csv_safe_leaves_numbers_alone():
    assert csv_safe(Decimal("-1.50")) == Decimal("-1.50")
    assert csv_safe("-1.50") == "'-1.50"
    assert csv_safe("  =1") == "'  =1"
    assert csv_safe("\t=1") == "'\t=1"
    assert csv_safe("fine") == "fine"
    assert csv_safe(None) == ""


def test_list_queries_do_not_grow_with_the_data(
    client, coordinator, coordinator2, engagement, consultant_user
):
    for _ in range(3):
        log(engagement, consultant_user)
    client.force_login(coordinator)
    url = reverse("engagements:contributions")
    client.get(url)
    small = count_queries(client, url)
    grow(engagement, coordinator, coordinator2, consultants=5, per_consultant=6)
    large = count_queries(client, url)
    assert small == large


def test_engagement_page_shows_its_entries_and_history(
    client, coordinator, engagement, consultant_user
):
    log(engagement, consultant_user, description="Town hall")
    client.force_login(coordinator)
    response = client.get(
        reverse("engagements:engagement_detail", kwargs={"public_id": engagement.public_id})
    )
    assert response.status_code == 200
    assert "<title>Engagement · Honora</title>" in text(response)
    assert "60.00" in text(response)  # the rate card's rates
    assert len(response.context["entries"]) == 1
    assert "History" in text(response)


def test_list_rows_leave_the_consultants_contact_fields_unread(
    client, coordinator, coordinator2, engagement, consultant_user
):
    """Staff lists show a display name: the encrypted contact fields are never decrypted."""
    from engagements.selectors import CONSULTANT_SECRETS

    approved(engagement, coordinator, coordinator2)
    log(engagement, consultant_user)
    client.force_login(coordinator)
    response = client.get(reverse("engagements:contributions"))
    rows = list(response.context["page"].object_list)
    assert len(rows) == 2
    for c in rows:
        assert set(CONSULTANT_SECRETS) <= c.engagement.consultant.get_deferred_fields()
