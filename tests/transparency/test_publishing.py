"""Publishing: nothing is public before; a publication is public, hashed and never changes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import pytest
from django.urls import reverse

from core.append_only import AppendOnlyError
from core.errors import NotAllowed, StateConflict, ValidationFailed
from tests.transparency.conftest import END, NAMES
from transparency.models import Publication
from transparency.services import preview_hash, publication_publish

pytestmark = pytest.mark.django_db


def _publish(study, by, *, end=END, reason="Informe trimestral"):
    return publication_publish(
        study=study,
        period_end=end,
        by=by,
        reason=reason,
        previewed=preview_hash(study=study, period_end=end),
    )


def test_it_shows_nothing_before_a_study_publishes(client, paid_study):
    response = client.get(reverse("transparency:index"))
    assert response.status_code == 200
    assert paid_study.name not in response.content.decode()
    assert client.get(reverse("api:transparency-list")).json() == []


def test_it_publishes_a_report_anyone_can_read_and_check(client, paid_study, coordinator):
    publication = _publish(paid_study, coordinator)
    # The index names the study; the report opens without signing in.
    assert paid_study.name in client.get(reverse("transparency:index")).content.decode()
    page = client.get(reverse("transparency:report", kwargs={"public_id": publication.public_id}))
    assert page.status_code == 200
    html = page.content.decode()
    assert publication.sha256 in html
    assert "sha256sum" in html
    assert "fewer than 5" in html  # the second phase's one person
    assert 'id="quick-exit"' in html
    assert "private" in page["Cache-Control"] and "max-age" in page["Cache-Control"]

    # The JSON download is exactly the hashed bytes.
    data = client.get(
        reverse("transparency:report_json", kwargs={"public_id": publication.public_id})
    )
    assert data.status_code == 200
    raw = data.content
    assert hashlib.sha256(raw).hexdigest() == publication.sha256
    doc = json.loads(raw)
    assert doc["summary"]["paid"] == {"value": "1590.00", "suppressed": None}
    assert doc["summary"]["consultants"] == {"value": 6, "suppressed": None}
    phases = {r["label"]: r for r in doc["by_phase"]["rows"]}
    assert phases["Fase 2"]["paid"] == {"value": None, "suppressed": "fewer_than_5"}
    # Its complement: phase 1 alone would give phase 2 as total minus phase 1.
    assert doc["summary"]["paid"]["value"] is not None
    assert phases["Fase 1"]["paid"]["value"] is None
    assert phases["Fase 1"]["paid"]["suppressed"] == "withheld"

    # The API gives the same bytes.
    api = client.get(
        reverse("api:transparency-detail", kwargs={"public_id": publication.public_id})
    )
    assert api.status_code == 200 and api.content == raw

    # The CSV carries the same figures, through the formula guard.
    response = client.get(
        reverse("transparency:report_csv", kwargs={"public_id": publication.public_id})
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["table", "row", "measure", "value", "not_shown"]
    assert ["summary", "", "paid", "1590.00", ""] in rows
    assert ["by_phase", "Fase 2", "paid", "", "fewer_than_5"] in rows

    # No name, pseudonym, id or e-mail of any consultant anywhere.
    for c in paid_study.people:
        c.refresh_from_db()
        secrets = [c.display_name, c.pseudonym, str(c.public_id), c.email]
        for where in (html, raw.decode(), text, api.content.decode()):
            for secret in secrets:
                assert secret not in where, secret
    for display, pseudonym in NAMES:
        assert display not in html and pseudonym not in html


def test_a_second_publication_leaves_the_first_as_it_was(client, paid_study, coordinator):
    first = _publish(paid_study, coordinator)
    before = (first.document, first.sha256)
    # Reports never overlap: the same end date again is refused, a later one covers
    # only what was paid after the first one's end.
    with pytest.raises(ValidationFailed):
        _publish(paid_study, coordinator, reason="Otra vez")
    later = END + dt.timedelta(days=30)
    second = _publish(paid_study, coordinator, end=later, reason="Otra vez")
    assert second.pk != first.pk
    assert (second.period_start, second.period_end) == (END + dt.timedelta(days=1), later)
    assert json.loads(second.document)["period_start"] == (END + dt.timedelta(days=1)).isoformat()
    assert json.loads(first.document)["period_start"] is None
    first.refresh_from_db()
    assert (first.document, first.sha256) == before
    assert Publication.objects.filter(study=paid_study).count() == 2
    with pytest.raises(AppendOnlyError):
        first.save()
    with pytest.raises(AppendOnlyError):
        Publication.objects.filter(pk=first.pk).update(reason="x")
    # History says who published and why.
    record = first.history.get()
    assert record.history_user == coordinator
    assert record.history_action == "transparency.published"
    assert record.history_change_reason == "Informe trimestral"


def test_it_refuses_a_publication_whose_figures_changed_since_the_preview(paid_study, coordinator):
    with pytest.raises(StateConflict):
        publication_publish(
            study=paid_study, period_end=END, by=coordinator, reason="Ya", previewed="0" * 64
        )
    assert not Publication.objects.exists()


def test_it_refuses_bad_input_and_the_wrong_people(paid_study, coordinator, finance, consultant):
    import datetime as dt

    for end in (dt.date(2999, 1, 1), dt.date(1999, 12, 31)):
        with pytest.raises(ValidationFailed):
            _publish(paid_study, coordinator, end=end)
    with pytest.raises(ValidationFailed):
        _publish(paid_study, coordinator, reason="  ")
    with pytest.raises(ValidationFailed):
        _publish(paid_study, coordinator, reason="x" * 501)
    for who in (finance, consultant.user):
        with pytest.raises(NotAllowed):
            _publish(paid_study, who)
    assert not Publication.objects.exists()


def test_the_staff_page_previews_then_publishes_with_a_reason(client, paid_study, coordinator):
    url = reverse("transparency:study", kwargs={"public_id": paid_study.public_id})
    client.force_login(coordinator)
    page = client.get(url, {"period_end": END.isoformat()})
    assert page.status_code == 200
    assert "fewer than 5" in page.content.decode()
    form = page.context["publish"]
    # Without the confirmation nothing is published.
    data = {
        "publish-period_end": END.isoformat(),
        "publish-previewed": form.initial["previewed"],
        "publish-reason": "Informe del trimestre",
    }
    assert client.post(url, data).status_code == 400
    assert not Publication.objects.exists()
    response = client.post(url, {**data, "publish-confirm": "on"})
    publication = Publication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "transparency:report", kwargs={"public_id": publication.public_id}
    )
    assert publication.published_by == coordinator
    # The same period again overlaps the report just published: refused, with why.
    again = client.post(url, {**data, "publish-confirm": "on"})
    assert again.status_code == 400
    assert "Reports never overlap" in again.content.decode()
    # A stale preview of the next period is a conflict, shown on the page.
    later = (END + dt.timedelta(days=1)).isoformat()
    stale = client.post(
        url,
        {
            **data,
            "publish-period_end": later,
            "publish-confirm": "on",
            "publish-previewed": "a" * 64,
        },
    )
    assert stale.status_code == 409
    assert Publication.objects.count() == 1
    # Bad dates are a clear error, never a 500.
    assert client.get(url, {"period_end": "2999-01-01"}).status_code == 400
    assert client.get(url, {"period_end": "nonsense"}).status_code == 400


@pytest.mark.parametrize(
    ("role", "status"),
    [("consultant", 403), ("outsider", 403), ("finance", 403), ("coordinator", 200)],
)
def test_the_staff_page_is_for_coordinators(client, paid_study, role, status, request):
    user = request.getfixturevalue(role)
    client.force_login(getattr(user, "user", user))
    url = reverse("transparency:study", kwargs={"public_id": paid_study.public_id})
    assert client.get(url).status_code == status
    if status != 200:
        assert client.post(url, {}).status_code == status


def test_the_api_is_anonymous_and_rate_limited(client, paid_study, coordinator, settings):
    publication = _publish(paid_study, coordinator)
    listed = client.get(reverse("api:transparency-list"))
    assert listed.status_code == 200
    assert listed.json()[0]["sha256"] == publication.sha256
    assert reverse("api:transparency-list") == "/api/v1/transparency/"
    url = reverse("api:transparency-detail", kwargs={"public_id": publication.public_id})
    from api.views.transparency import TransparencyThrottle

    limit = int(TransparencyThrottle.default_rate.split("/")[0])
    statuses = [client.get(url).status_code for _ in range(limit + 1)]
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert statuses[-1] == 429
    # An unknown report is a plain 404 in the API's error shape (once the limit resets).
    from django.core.cache import cache

    cache.clear()
    missing = client.get(
        reverse(
            "api:transparency-detail",
            kwargs={"public_id": "00000000-0000-0000-0000-000000000000"},
        )
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "role", ["anonymous", "consultant", "outsider", "coordinator", "finance", "admin_user"]
)
def test_the_api_answers_every_role_alike(client, paid_study, coordinator, role, request):
    """Public by design: the same figures for everyone, signed in or not."""
    publication = _publish(paid_study, coordinator)
    if role != "anonymous":
        user = request.getfixturevalue(role)
        client.force_login(getattr(user, "user", user))
    listed = client.get(reverse("api:transparency-list"))
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [str(publication.public_id)]
    detail = client.get(
        reverse("api:transparency-detail", kwargs={"public_id": publication.public_id})
    )
    assert detail.status_code == 200
    assert hashlib.sha256(detail.content).hexdigest() == publication.sha256
