"""The study dashboard: totals by phase and status, burn, waiting, unpaid, disputes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements.models import Contribution
from tests.engagements.pages_support import approved, count_queries, grow, log, text
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db


def dashboard_url(study):
    return reverse("engagements:study_dashboard", kwargs={"public_id": study.public_id})


def test_studies_list_goes_straight_to_the_only_study(client, coordinator, engagement):
    client.force_login(coordinator)
    response = client.get(reverse("engagements:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == dashboard_url(engagement.phase.study)


def test_studies_list_shows_every_study_when_there_are_several(client, coordinator, engagement):
    StudyFactory(name="Second study")
    client.force_login(coordinator)
    response = client.get(reverse("engagements:dashboard"))
    assert response.status_code == 200
    assert "Second study" in text(response)
    assert engagement.phase.study.name in text(response)
    assert "<title>Studies · Honora</title>" in text(response)


def test_dashboard_totals_burn_waiting_unpaid_and_disputes(
    client, coordinator, coordinator2, engagement, consultant_user, settings
):
    settings.TIME_TO_PAY_TARGET_DAYS = 14
    study = engagement.phase.study
    study.budget = Decimal("1000.00")
    study.save()
    engagement.hours_cap = Decimal("10")
    engagement.save()
    old = approved(engagement, coordinator, coordinator2, quantity=Decimal("2.5"))
    Contribution.objects.filter(pk=old.pk).update(approved_at=timezone.now() - timedelta(days=20))
    approved(engagement, coordinator, coordinator2, quantity=Decimal("1"))
    waiting = log(engagement, consultant_user, quantity=Decimal("0.75"))
    from engagements.services.disputes import dispute_open

    dispute_open(contribution=waiting, by=consultant_user, comment="Was 3 hours")

    client.force_login(coordinator)
    response = client.get(dashboard_url(study))
    page = text(response)
    assert response.status_code == 200
    assert "<title>Dashboard · Honora</title>" in page
    # Approved: 3.5 hours at 60.00 = 210.00 of the 1,000.00 budget.
    assert "210.00" in page
    assert "21%" in page
    # The cap counts every entry but returned ones: 4.25 of 10.
    assert "4.25 of 10 h (43%)" in page
    dashboard = response.context["d"]
    assert dashboard.waiting_count == 1 and dashboard.waiting[0] == waiting
    assert dashboard.unpaid_count == 2 and dashboard.overdue_count == 1
    assert dashboard.unpaid[0].pk == old.pk and dashboard.unpaid[0].overdue
    assert dashboard.unpaid[0].waited_days >= 20
    assert "Overdue" in page
    assert dashboard.dispute_count == 1 and "Was 3 hours" in page
    totals = dict(zip([s for s, _label in dashboard.statuses], dashboard.totals.cells, strict=True))
    assert totals["approved"].hours == Decimal("3.5") and totals["approved"].count == 2
    assert totals["submitted"].hours == Decimal("0.75")


def test_finance_may_view_the_dashboard_but_gets_no_review_links(
    client, finance, engagement, consultant_user
):
    log(engagement, consultant_user)
    client.force_login(finance)
    response = client.get(dashboard_url(engagement.phase.study))
    assert response.status_code == 200
    assert "Review all waiting entries" not in text(response)


def test_dashboard_queries_do_not_grow_with_the_data(
    client, coordinator, coordinator2, engagement, consultant_user
):
    log(engagement, consultant_user)
    approved(engagement, coordinator, coordinator2)
    url = dashboard_url(engagement.phase.study)
    client.force_login(coordinator)
    client.get(url)  # warm caches (content types, permissions)
    small = count_queries(client, url)
    grow(engagement, coordinator, coordinator2, consultants=6, per_consultant=5)
    large = count_queries(client, url)
    assert small == large


def test_dashboard_shows_the_engagements_nearest_their_limits_and_links_to_all(
    client, coordinator, coordinator2, engagement, settings
):
    """A study of many engagements: the dashboard counts them, flags those over their
    cap or budget, shows only the nearest to their limits, and links to every one."""
    from engagements.models import Engagement
    from engagements.selectors import study_dashboard

    study = engagement.phase.study
    grow(engagement, coordinator, coordinator2, consultants=3, per_consultant=2)
    others = list(Engagement.objects.filter(phase__study=study).exclude(pk=engagement.pk))
    over, near = others[0], others[1]
    Engagement.objects.filter(pk=over.pk).update(hours_cap=Decimal("1"))  # 4 h logged
    Engagement.objects.filter(pk=near.pk).update(hours_cap=Decimal("5"))  # 4 of 5 h
    client.force_login(coordinator)

    response = client.get(dashboard_url(study))
    page = text(response)
    d = response.context["d"]
    assert d.engagement_count == 4 and d.over_count == 1
    assert "4 engagements in this study" in page
    assert "1 over its hours cap or budget" in page
    assert [e.pk for e in d.engagements][:2] == [over.pk, near.pk]
    all_url = reverse("engagements:study_engagements", kwargs={"public_id": study.public_id})
    assert all_url in page

    # With a limit of one, only the one most over its limits is shown.
    shown = study_dashboard(study, limit=1)
    assert [e.pk for e in shown.engagements] == [over.pk]
    assert shown.engagement_count == 4 and shown.over_count == 1

    # Every engagement over its limits is listed, however small the limit.
    Engagement.objects.filter(pk=near.pk).update(hours_cap=Decimal("2"))
    shown = study_dashboard(study, limit=1)
    assert {e.pk for e in shown.engagements} == {over.pk, near.pk}
    assert shown.over_count == 2

    full = client.get(all_url)
    assert full.status_code == 200
    assert {e.pk for e in full.context["engagements"]} == {e.pk for e in [engagement, *others]}
    assert "4 of 1 h (400%)" in text(full)


def test_every_engagement_page_is_paginated_with_constant_queries(
    client, coordinator, coordinator2, engagement, settings
):
    from engagements.views import studies

    study = engagement.phase.study
    url = reverse("engagements:study_engagements", kwargs={"public_id": study.public_id})
    client.force_login(coordinator)
    client.get(url)  # warm caches (content types, permissions)
    small = count_queries(client, url)
    grow(engagement, coordinator, coordinator2, consultants=4, per_consultant=2)
    settings.DEBUG = False
    studies.PAGE_SIZE, saved = 2, studies.PAGE_SIZE
    try:
        large = count_queries(client, url)
        second = client.get(url, {"page": 2})
    finally:
        studies.PAGE_SIZE = saved
    assert small == large
    assert len(second.context["engagements"]) == 2
    assert second.context["page"].paginator.count == 5


def test_dashboard_lists_do_not_decrypt_contact_fields(
    client, coordinator, coordinator2, engagement, consultant_user
):
    """The lists read the display name only: the encrypted contact fields stay deferred."""
    from consultants.models import Consultant
    from engagements.selectors import CONSULTANT_SECRETS, study_dashboard

    assert set(CONSULTANT_SECRETS) >= {"email", "phone", "safe_contact_notes"}
    log(engagement, consultant_user)
    approved(engagement, coordinator, coordinator2)
    d = study_dashboard(engagement.phase.study)
    consultants: list[Consultant] = [
        *(e.consultant for e in d.engagements),
        *(c.engagement.consultant for c in [*d.waiting, *d.unpaid]),
    ]
    assert consultants
    for consultant in consultants:
        assert set(CONSULTANT_SECRETS) <= consultant.get_deferred_fields()
