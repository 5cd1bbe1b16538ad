"""The main navigation: who gets which links, and which one is marked as the current page."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _nav(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return list(response.context["nav_links"]), response.content.decode()


def test_a_consultant_gets_their_own_pages_and_no_api_tokens(client, consultant):
    links, html = _nav(client, consultant.user, reverse("portal:home"))
    urls = [link.url for link in links]
    assert reverse("portal:home") in urls and reverse("portal:receipts") in urls
    assert reverse("api_tokens") not in urls
    assert reverse("engagements:review") not in urls
    # One-click sign-out: a form that posts straight to sign-out, in the header.
    assert f'<form class="sign-out" method="post" action="{reverse("account_logout")}">' in html


def test_the_longest_matching_link_is_the_current_page(client, consultant, engagement):
    links, html = _nav(client, consultant.user, reverse("portal:contributions"))
    current = [link for link in links if link.current]
    assert [link.url for link in current] == [reverse("portal:contributions")]
    assert html.count('aria-current="page"') == 1


def test_staff_keep_api_tokens_in_their_menu(client, coordinator):
    links, _html = _nav(client, coordinator, reverse("api_tokens"))
    assert reverse("api_tokens") in [link.url for link in links]
    assert reverse("portal:home") not in [link.url for link in links]
    links, _html = _nav(client, coordinator, reverse("engagements:review"))
    assert [link.url for link in links if link.current] == [reverse("engagements:review")]
