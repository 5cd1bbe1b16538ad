"""Every endpoint and method as owner, outsider, each staff role and anonymous.

``consultant`` owns the records; ``outsider`` is another consultant. A
consultant gets 404 for anything that is not theirs; a role without the right
gets 403; anonymous callers get 401.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")


def row(method, path, expected, body=None):
    return pytest.param(method, path, expected, body, id=f"{method} {path}")


A, C, O, CO, F, AD = ROLES  # noqa: E741 - short names keep the table readable

# {role: status}; paths use {contribution}, {engagement}, {consultant}, {study}, {phase}, {card}.
TABLE = [
    row("get", "/api/v1/me/", {A: 401, C: 200, O: 200, CO: 404, F: 404, AD: 404}),
    row(
        "patch",
        "/api/v1/me/",
        {A: 401, C: 200, O: 200, CO: 404, F: 404, AD: 404},
        {"receipt_name": "pseudonym", "pseudonym": "Nova"},
    ),
    row("get", "/api/v1/consultants/", {A: 401, C: 403, O: 403, CO: 200, F: 200, AD: 200}),
    row(
        "get",
        "/api/v1/consultants/{consultant}/",
        {A: 401, C: 403, O: 403, CO: 200, F: 200, AD: 200},
    ),
    row(
        "post",
        "/api/v1/consultants/",
        {A: 401, C: 403, O: 403, CO: 201, F: 403, AD: 201},
        {"display_name": "Nova"},
    ),
    row(
        "patch",
        "/api/v1/consultants/{consultant}/",
        {A: 401, C: 403, O: 403, CO: 200, F: 403, AD: 200},
        {"pseudonym": "R."},
    ),
    row(
        "post",
        "/api/v1/consultants/{consultant}/reveal/",
        {A: 401, C: 403, O: 403, CO: 403, F: 200, AD: 403},
        {"field": "legal_name", "reason": "1099 filing"},
    ),
    row(
        "post",
        "/api/v1/consultants/{consultant}/tax-form/",
        {A: 401, C: 403, O: 403, CO: 403, F: 200, AD: 403},
        {"form_type": "W-9", "received_on": "2025-01-05", "tin": "900701234", "reason": "Arrived"},
    ),
    row("get", "/api/v1/studies/", {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    row("get", "/api/v1/studies/{study}/", {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200}),
    row("get", "/api/v1/phases/", {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    row("get", "/api/v1/phases/{phase}/", {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200}),
    row("get", "/api/v1/rate-cards/", {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    row("get", "/api/v1/rate-cards/{card}/", {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200}),
    row("get", "/api/v1/engagements/", {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    row(
        "get",
        "/api/v1/engagements/{engagement}/",
        {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200},
    ),
    row("get", "/api/v1/contributions/", {A: 401, C: 200, O: 200, CO: 200, F: 200, AD: 200}),
    row(
        "get",
        "/api/v1/contributions/{contribution}/",
        {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200},
    ),
    row(
        "patch",
        "/api/v1/contributions/{contribution}/",
        {A: 401, C: 403, O: 404, CO: 200, F: 403, AD: 403},
        {"description": "call", "reason": "typo"},
    ),
    row(
        "post",
        "/api/v1/contributions/{contribution}/submit/",
        {A: 401, C: 403, O: 404, CO: 200, F: 403, AD: 403},
    ),
    # Logged by the coordinator: the other coordinator approves; nobody approves their own.
    row(
        "post",
        "/api/v1/contributions/{contribution}/approve/",
        {A: 401, C: 403, O: 404, CO: 403, F: 403, AD: 403},
    ),
    row(
        "post",
        "/api/v1/contributions/{contribution}/reject/",
        {A: 401, C: 403, O: 404, CO: 200, F: 403, AD: 403},
        {"reason": "Split prep"},
    ),
    row(
        "post",
        "/api/v1/contributions/{contribution}/dispute/",
        {A: 401, C: 200, O: 404, CO: 200, F: 403, AD: 403},
        {"comment": "Was 3 hours"},
    ),
    row(
        "post",
        "/api/v1/contributions/{contribution}/adjust/",
        {A: 401, C: 403, O: 404, CO: 409, F: 403, AD: 403},
        {"quantity_delta": "1", "reason": "more"},
    ),
    row(
        "get",
        "/api/v1/history/?type=contribution&id={contribution}",
        {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200},
    ),
    row(
        "get",
        "/api/v1/history/?type=consultant&id={consultant}",
        {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200},
    ),
    row(
        "get",
        "/api/v1/history/?type=engagement&id={engagement}",
        {A: 401, C: 200, O: 404, CO: 200, F: 200, AD: 200},
    ),
]


@pytest.mark.parametrize(("method", "path", "expected", "body"), TABLE)
@pytest.mark.parametrize("role", ROLES)
def test_endpoint_access(
    request, api, submitted, engagement, consultant, role, method, path, expected, body
):
    if role == "outsider":
        # The outsider has records of their own, in another study.
        from tests.factories import EngagementFactory

        EngagementFactory(consultant=request.getfixturevalue("outsider"))
    url = path.format(
        contribution=submitted.public_id,
        engagement=engagement.public_id,
        consultant=consultant.public_id,
        study=engagement.phase.study.public_id,
        phase=engagement.phase.pk,
        card=engagement.rate_card.public_id,
    )
    response = (
        getattr(api[role], method)(url, body or {}, format="json")
        if method != "get"
        else api[role].get(url)
    )
    assert response.status_code == expected[role], response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "fields"}


def test_outsider_lists_only_their_own(api, submitted, outsider_engagement):
    from engagements.services.contributions import contribution_create

    mine = contribution_create(
        engagement=outsider_engagement,
        by=outsider_engagement.consultant.user,
        kind="hours",
        activity="work",
        date=submitted.date,
        quantity=1,
    )
    ids = [r["public_id"] for r in api["outsider"].get("/api/v1/contributions/").json()["results"]]
    assert ids == [str(mine.public_id)]
    engagements = api["outsider"].get("/api/v1/engagements/").json()["results"]
    assert [e["public_id"] for e in engagements] == [str(outsider_engagement.public_id)]


def test_reveal_is_recorded_and_never_in_consultant_payloads(api, consultant, finance):
    from consultants.models import VaultReveal
    from consultants.services import vault_update

    vault_update(
        consultant=consultant,
        by=finance,
        reason="",
        legal_name="Rivera Example",
        taxpayer_id="900-70-1234",
    )
    listing = api["coordinator"].get(f"/api/v1/consultants/{consultant.public_id}/")
    assert "Rivera" not in listing.content.decode() and "900-70" not in listing.content.decode()
    # Staff never read contact details; only finance sees the last four digits.
    assert listing.json()["taxpayer_id_last4"] is None
    assert "email" not in listing.json() and "phone" not in listing.json()
    assert consultant.email not in listing.content.decode()
    assert (
        api["finance"]
        .get(f"/api/v1/consultants/{consultant.public_id}/")
        .json()["taxpayer_id_last4"]
        == "1234"
    )
    no_reason = api["finance"].post(
        f"/api/v1/consultants/{consultant.public_id}/reveal/",
        {"field": "legal_name"},
        format="json",
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]
    revealed = api["finance"].post(
        f"/api/v1/consultants/{consultant.public_id}/reveal/",
        {"field": "taxpayer_id", "reason": "1099 filing"},
        format="json",
    )
    assert revealed.json() == {"field": "taxpayer_id", "value": "900-70-1234"}
    assert revealed["Cache-Control"] == "no-store"
    reveal = VaultReveal.objects.get()
    assert (reveal.revealed_by, reveal.field, reveal.reason, reveal.context) == (
        finance,
        "taxpayer_id",
        "1099 filing",
        "api",
    )
