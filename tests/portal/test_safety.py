"""Safety (DOMAIN.md): quick exit everywhere, neutral titles, no personal data in URLs,
pages never cached, short idle sessions for consultants."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.access_tables import PAGES
from tests.test_url_access import ROLES

pytestmark = pytest.mark.django_db

# Words a page title must never carry: the study's subject, or what it implies.
SENSITIVE_WORDS = ("traffick", "exploit", "abuse", "victim", "survivor", "sex", "trauma")

ACCOUNT_PAGES = [
    "account_login",
    "account_request_login_code",
    "account_reset_password",
]


def _title(response) -> str:
    match = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert match, "every page has a <title>"
    return " ".join(match.group(1).split())


def _names(people) -> set[str]:
    """Every personal name or address on the standing records, lower-cased."""
    names = set()
    for role in ROLES:
        user = people[role]
        if user is not None:
            names |= {user.email.lower(), user.name.lower()}
            consultant = getattr(user, "consultant", None)
            if consultant is not None:
                names |= {consultant.display_name.lower(), consultant.email.lower()}
                if consultant.pseudonym:
                    names.add(consultant.pseudonym.lower())
    return {n for n in names if n}


def _pages_that_open(people):
    """(url, user) for every page in the access table that a role opens (200)."""
    for name, (builder, expected) in sorted(PAGES.items()):
        kwargs = builder(people["records"]) if builder else {}
        url = reverse(name, kwargs=kwargs)
        for role in ROLES:
            if expected[role] == 200:
                yield name, url, role, people[role]


def _get(client, url, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def test_every_page_has_the_quick_exit(client, people):
    checked = 0
    for name, url, role, user in _pages_that_open(people):
        response = _get(client, url, user)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        body = response.content.decode()
        assert "data-quick-exit" in body and 'href="https://www.weather.gov/"' in body, (
            f"{name} as {role} has no quick exit"
        )
        assert "js/quick-exit.js" in body, f"{name} as {role} lacks the quick-exit script"
        checked += 1
    client.logout()
    for name in ACCOUNT_PAGES:
        body = client.get(reverse(name)).content.decode()
        assert "data-quick-exit" in body, name
    assert "data-quick-exit" in client.get("/no/such/page/").content.decode()
    assert checked >= 10


def test_every_page_title_is_neutral(client, people):
    names = _names(people)
    for name, url, role, user in _pages_that_open(people):
        response = _get(client, url, user)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        title = _title(response).lower()
        assert not any(w in title for w in SENSITIVE_WORDS), f"{name}: {title!r}"
        assert not any(n in title for n in names), f"{name} as {role} names someone: {title!r}"
    client.logout()
    for name in ACCOUNT_PAGES:
        title = _title(client.get(reverse(name))).lower()
        assert not any(w in title for w in SENSITIVE_WORDS), name


def test_portal_urls_carry_only_opaque_ids():
    portal = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "portal"
    )
    for pattern in portal.url_patterns:
        assert isinstance(pattern, URLPattern)
        converters = pattern.pattern.converters
        assert all(type(c).__name__ == "UUIDConverter" for c in converters.values()), pattern


def test_no_link_or_form_on_a_portal_page_carries_personal_data(client, people):
    names = _names(people)
    for name, url, _role, user in _pages_that_open(people):
        if not name.startswith("portal:"):
            continue
        response = _get(client, url, user)
        if "text/html" not in response.get("Content-Type", ""):
            continue  # a download (a receipt's PDF) has no links or forms
        body = response.content.decode()
        for target in re.findall(r'(?:href|action)="([^"]*)"', body):
            assert not any(n in target.lower() for n in names), f"{name}: {target}"


def test_portal_pages_are_never_cached(client, people):
    for name, url, _role, user in _pages_that_open(people):
        if name.startswith("portal:"):
            response = _get(client, url, user)
            assert "no-store" in response["Cache-Control"], name


def test_a_consultant_session_expires_after_the_idle_time(client, consultant, settings):
    settings.CONSULTANT_SESSION_IDLE_MINUTES = 7
    client.force_login(consultant.user)
    assert client.get(reverse("portal:home")).status_code == 200
    assert client.session.get_expiry_age() == 7 * 60
    # each request starts the idle time again (SESSION_SAVE_EVERY_REQUEST)
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_the_default_idle_time_is_configured(client, consultant):
    client.force_login(consultant.user)
    client.get(reverse("portal:home"))
    assert client.session.get_expiry_age() == settings.CONSULTANT_SESSION_IDLE_MINUTES * 60
    assert settings.CONSULTANT_SESSION_IDLE_MINUTES * 60 < settings.SESSION_COOKIE_AGE


def test_staff_keep_the_longer_session(client, coordinator):
    client.force_login(coordinator)
    client.get(reverse("home"))
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_an_idle_consultant_is_signed_out(client, consultant, settings):
    settings.CONSULTANT_SESSION_IDLE_MINUTES = 1
    client.force_login(consultant.user)
    client.get(reverse("portal:home"))
    # a minute and a bit of idleness later
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=5)
    )
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_quick_exit_script_replaces_the_page_and_counts_shift(client):
    from django.contrib.staticfiles import finders

    with open(finders.find("js/quick-exit.js"), encoding="utf-8") as f:
        script = f.read()
    assert "location.replace(" in script
    assert '"Shift"' in script and "WINDOW_MS = 1000" in script
    assert "presses.length >= 3" in script
