"""Staff pages about consultants: display names only, never the vault or contacts."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from consultants import services as consultant_services
from consultants.models import IdentityVault, TaxForm
from engagements.services.reviews import contribution_approve
from tests.engagements.pages_support import approved, count_queries, log, streamed, text
from tests.factories import ConsultantFactory, EngagementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vaulted(consultant, engagement):
    consultant.phone = "555-0100"
    consultant.save()
    IdentityVault.objects.create(
        consultant=consultant, legal_name="Maria Legal", taxpayer_id="123-45-6789"
    )
    TaxForm.objects.filter(consultant=consultant).update(
        status="received", tin_last4="6789", received_on=date(2026, 1, 2)
    )
    return consultant


def test_list_shows_names_status_payout_and_w9_but_no_contacts_or_vault(
    client, coordinator, vaulted
):
    ConsultantFactory(display_name="Sol")
    client.force_login(coordinator)
    response = client.get(reverse("consultants:list"))
    page = text(response)
    assert response.status_code == 200
    assert "<title>Consultants · Honora</title>" in page
    assert "River" in page and "Sol" in page
    assert "On file" in page and "Not on file" in page
    assert "Check" in page  # the default payout preference
    for secret in ("Maria Legal", "6789", "555-0100", vaulted.email):
        assert secret not in page


def test_list_filters_by_status_and_exports_csv(client, finance, vaulted):
    ConsultantFactory(display_name="=Paused one", status="paused")
    client.force_login(finance)
    response = client.get(reverse("consultants:list") + "?status=paused")
    assert [c.display_name for c in response.context["page"].object_list] == ["=Paused one"]
    export = client.get(reverse("consultants:list") + "?format=csv")
    assert export["Content-Disposition"].startswith('attachment; filename="consultants-')
    body = streamed(export)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["display_name"] for r in rows} == {"River", "'=Paused one"}
    river = next(r for r in rows if r["display_name"] == "River")
    assert (river["w9"], river["payout_preference"], river["active_engagements"]) == (
        "On file",
        "check",
        "1",
    )
    for secret in ("Maria Legal", "6789", "555-0100", vaulted.email):
        assert secret not in body


def test_detail_shows_engagements_cap_burn_recent_work_and_history(
    client, coordinator, coordinator2, engagement, consultant_user
):
    engagement.hours_cap = Decimal("8")
    engagement.save()
    approved(engagement, consultant_user, coordinator2, quantity=Decimal("2"))
    log(engagement, consultant_user, quantity=Decimal("1.5"), description="Recent")
    consultant_services.consultant_update_preferences(
        consultant=engagement.consultant,
        by=consultant_user,
        payout_method="prepaid_card",
        phone="555-0199",
    )
    client.force_login(coordinator)
    response = client.get(
        reverse("consultants:detail", kwargs={"public_id": engagement.consultant.public_id})
    )
    page = text(response)
    assert response.status_code == 200
    assert "<title>Consultant · Honora</title>" in page
    assert engagement.role in page and engagement.rate_card.name in page
    assert "3.5 of 8 h (44%)" in page
    assert "Recent" in page
    # The history names the payout change, never the new phone number.
    assert "River (consultant) changed preferred payout method from Check to Prepaid card" in page
    assert "555-0199" not in page


def test_detail_queries_do_not_grow_with_the_data(
    client, coordinator, coordinator2, engagement, consultant_user
):
    for _ in range(3):
        log(engagement, consultant_user)
    client.force_login(coordinator)
    url = reverse("consultants:detail", kwargs={"public_id": engagement.consultant.public_id})
    client.get(url)
    small = count_queries(client, url)
    for i in range(3):
        other = EngagementFactory(consultant=engagement.consultant, role=f"Role {i}")
        for _ in range(9):
            # Half hours: one day holds at most 24 hours across engagements (core.limits).
            c = log(other, consultant_user, quantity=Decimal("0.5"))
            contribution_approve(contribution=c, by=coordinator2)
    for i in range(5):
        consultant_services.consultant_update_preferences(
            consultant=engagement.consultant, by=consultant_user, pseudonym=f"P{i}"
        )
    large = count_queries(client, url)
    assert small == large


def test_list_queries_do_not_grow_with_the_data(client, finance, consultant):
    client.force_login(finance)
    url = reverse("consultants:list")
    client.get(url)
    small = count_queries(client, url)
    for _ in range(20):
        EngagementFactory(consultant=ConsultantFactory())
    large = count_queries(client, url)
    assert small == large


def test_consultants_and_outsiders_cannot_open_staff_pages(
    client, consultant_user, outsider_user, consultant
):
    for user in (consultant_user, outsider_user):
        client.force_login(user)
        assert client.get(reverse("consultants:list")).status_code == 403
        assert (
            client.get(
                reverse("consultants:detail", kwargs={"public_id": consultant.public_id})
            ).status_code
            == 403
        )
