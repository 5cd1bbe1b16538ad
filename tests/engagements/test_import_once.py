"""A checked file is imported once, however many times its form is sent."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from engagements import imports
from engagements.import_once import IMPORT_SESSION_KEY
from engagements.models import Contribution
from tests.conftest import requires_postgres
from tests.engagements.test_pages_import import clean_file, upload

IMPORT = reverse("engagements:import")


def _as_if_not_yet_imported(client, content: str) -> None:
    """Put the checked file back in the session, as a second request read it.

    Two clicks (or two tabs) each load the session before either import ends, so
    the second one still finds the checked file there.
    """
    session = client.session
    session[IMPORT_SESSION_KEY] = imports.content_hash(content.encode())
    session.save()


@pytest.mark.django_db
def test_the_same_checked_file_sent_twice_imports_once(client, coordinator, engagement):
    content = clean_file(engagement)
    client.force_login(coordinator)
    token = upload(client, content).context["token"]

    first = client.post(IMPORT, {"token": token})
    assert first.status_code == 302
    assert Contribution.objects.count() == 3

    _as_if_not_yet_imported(client, content)
    second = client.post(IMPORT, {"token": token}, follow=True)
    assert Contribution.objects.count() == 3
    assert "This file was already imported, or is being imported right now." in (
        second.content.decode()
    )


@pytest.mark.django_db
def test_a_file_checked_again_after_its_import_is_not_imported_twice(
    client, coordinator, engagement
):
    content = clean_file(engagement)
    client.force_login(coordinator)
    client.post(IMPORT, {"token": upload(client, content).context["token"]})
    again = upload(client, content)  # the dry run warns that the rows exist already
    assert len(again.context["report"].warning_rows) == 3
    response = client.post(IMPORT, {"token": again.context["token"]}, follow=True)
    assert "already imported" in response.content.decode()
    assert Contribution.objects.count() == 3


@pytest.mark.django_db
def test_an_import_that_imported_nothing_can_be_checked_and_tried_again(
    client, coordinator, engagement
):
    content = clean_file(engagement)
    client.force_login(coordinator)
    token = upload(client, content).context["token"]
    engagement.status = "ended"
    engagement.save()
    assert client.post(IMPORT, {"token": token}).status_code == 409

    engagement.status = "active"
    engagement.save()
    response = client.post(IMPORT, {"token": upload(client, content).context["token"]})
    assert response.status_code == 302
    assert Contribution.objects.count() == 3


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_import_the_file_once(client, coordinator, engagement):
    content = clean_file(engagement)
    client.force_login(coordinator)
    token = upload(client, content).context["token"]
    cookie = client.cookies["sessionid"].value
    barrier = threading.Barrier(2)
    statuses: list = [None, None]

    def post(index):
        other = Client()
        other.cookies["sessionid"] = cookie  # the same person, the same session
        try:
            barrier.wait(timeout=120)
            statuses[index] = other.post(IMPORT, {"token": token}).status_code
        except Exception as exc:
            statuses[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [302, 302], statuses
    assert Contribution.objects.count() == 3
