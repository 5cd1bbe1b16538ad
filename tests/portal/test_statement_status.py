"""A statement being prepared updates itself on /me/receipts/.

The page marks the year's block with the URL it polls; that URL tells the owner
where the statement stands (pending, ready, none) with the block to show, and is a
404 for anyone else. Without JavaScript the block has a plain link that reloads.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from payments.documents.statements import statement_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(paid_by_check_as_pseudonym):
    return paid_by_check_as_pseudonym


def _status(client, year):
    return client.get(reverse("portal:statement_status"), {"year": str(year)})


def _year(client, year):
    response = _status(client, year)
    assert response.status_code == 200
    return response.json()["years"][str(year)]


def _ask(client, year, django_capture_on_commit_callbacks):
    # Enqueued only: no worker runs here, so the statement stays "being prepared".
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:statement_prepare"), {"year": str(year)})
    assert response.status_code == 302


def test_nothing_asked_yet_is_none(consultant_client, paid):
    _payment, receipt = paid
    response = _status(consultant_client, receipt.year)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()["years"][str(receipt.year)]
    assert data["state"] == "none"
    assert f"Prepare my statement for {receipt.year}" in data["html"]


def test_pending_then_ready(consultant_client, paid, django_capture_on_commit_callbacks):
    payment, receipt = paid
    year = receipt.year
    _ask(consultant_client, year, django_capture_on_commit_callbacks)

    data = _year(consultant_client, year)
    assert data["state"] == "pending"
    assert "Being prepared" in data["html"] and "Reload" not in data["html"]

    # The page marks the block it updates, in a live region, with a plain link for no-JS.
    page = consultant_client.get(reverse("portal:receipts")).content.decode()
    poll_url = reverse("portal:statement_status") + f"?year={year}"
    assert f'data-statement-poll="{poll_url}"' in page
    assert f'aria-live="polite" data-statement-year="{year}"' in page
    assert f'href="{reverse("portal:receipts")}#statement-{year}"' in page
    assert "Reload this page" not in page

    statement = statement_generate(consultant=payment.consultant, year=year)
    data = _year(consultant_client, year)
    assert data["state"] == "ready"
    download = reverse("portal:statement_pdf", kwargs={"public_id": statement.public_id})
    assert download in data["html"] and "data-download" in data["html"]
    assert "Being prepared" not in data["html"]
    page = consultant_client.get(reverse("portal:receipts")).content.decode()
    assert "data-statement-poll" not in page


def test_another_consultant_gets_a_404(client, outsider, paid):
    _payment, receipt = paid
    client.force_login(outsider.user)
    assert _status(client, receipt.year).status_code == 404
    # and without a year, only their own (none)
    response = client.get(reverse("portal:statement_status"))
    assert response.status_code == 200 and response.json() == {"years": {}}


def test_without_a_year_every_year_of_mine(consultant_client, paid):
    _payment, receipt = paid
    years = consultant_client.get(reverse("portal:statement_status")).json()["years"]
    assert list(years) == [str(receipt.year)]


def test_a_year_without_payments_is_a_404(consultant_client, paid):
    _payment, receipt = paid
    assert _status(consultant_client, receipt.year - 5).status_code == 404
    assert _status(consultant_client, 0).status_code == 404
    # "²" and 5,000 digits pass str.isdigit() but int() refuses them: a 404, not a 500.
    for junk in ("abc", "-1", "2026.0", "9" * 40, "²", "9" * 5000, "２０２６"):
        assert _status(consultant_client, junk).status_code == 404


def test_staff_have_no_portal(client, coordinator, paid):
    _payment, receipt = paid
    client.force_login(coordinator)
    assert _status(client, receipt.year).status_code == 404
