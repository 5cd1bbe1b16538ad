"""The consultant's language decides: pages after sign-in, and the browser before it.

Until the Spanish catalog lands these tests look at what Django itself translates (month
names, through the named date formats), the active language and Content-Language.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.middleware import consultant_language
from tests.portal.test_preferences import current

pytestmark = pytest.mark.django_db

SPANISH_MONTH = re.compile(
    r"\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre"
    r"|noviembre|diciembre) de \d{4}"
)
ENGLISH_MONTH = re.compile(
    r"\d{1,2} (January|February|March|April|May|June|July|August|September|October"
    r"|November|December) \d{4}"
)


def _html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang>"
    return match.group(1)


@pytest.fixture(autouse=True)
def _english_after(settings):
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _paid_page(client, consultant):
    """The consultant's payments page (it writes the payment's date in full)."""
    client.force_login(consultant.user)
    return client.get(reverse("portal:payments"))


def test_a_consultant_who_reads_spanish_gets_spanish_pages(client, paid_by_check):
    payment, _receipt = paid_by_check
    consultant = payment.consultant
    consultant.preferred_language = "es"
    consultant.save()
    # The browser asks for English: the consultant's choice wins once signed in.
    client.force_login(consultant.user)
    response = client.get(reverse("portal:payments"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "es"
    assert _html_lang(response) == "es"
    text = response.content.decode()
    assert SPANISH_MONTH.search(text), "no Spanish date on the page"
    assert not ENGLISH_MONTH.search(text)
    home = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert home.status_code == 200 and home["Content-Language"] == "es"


def test_the_same_page_in_english_for_a_consultant_who_reads_english(client, paid_by_check):
    payment, _receipt = paid_by_check
    response = _paid_page(client, payment.consultant)
    assert response["Content-Language"] == "en"
    assert ENGLISH_MONTH.search(response.content.decode())


def test_changing_the_preference_changes_the_next_page(client, consultant):
    client.force_login(consultant.user)
    assert client.get("/me/")["Content-Language"] == "en"
    response = client.post("/me/preferences/", current(consultant, preferred_language="es"))
    assert response.status_code == 302
    consultant.refresh_from_db()
    assert consultant.preferred_language == "es"
    following = client.get("/me/preferences/")
    assert following["Content-Language"] == "es"
    assert _html_lang(following) == "es"
    # The history of the change is dated the Spanish way.
    assert SPANISH_MONTH.search(following.content.decode())
    client.post("/me/preferences/", current(consultant, preferred_language="en"))
    assert client.get("/me/")["Content-Language"] == "en"


def test_staff_get_the_browser_language(client, coordinator):
    client.force_login(coordinator)
    url = reverse("engagements:dashboard")
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="es")["Content-Language"] == "es"
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"


def test_a_staff_member_with_a_consultant_record_still_gets_the_browser_language(
    coordinator, consultant
):
    consultant.preferred_language = "es"
    consultant.save()
    assert consultant_language(consultant.user) == "es"
    coordinator.consultant = consultant  # the rule, not the data: staff are not steered
    assert consultant_language(coordinator) is None


def test_an_anonymous_visitor_gets_the_browser_language_and_a_switch(client):
    login = reverse("account_login")
    spanish = client.get(login, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish["Content-Language"] == "es" and _html_lang(spanish) == "es"
    english = client.get(login, HTTP_ACCEPT_LANGUAGE="en")
    assert english["Content-Language"] == "en"
    body = english.content.decode()
    assert f'action="{reverse("set_language")}"' in body
    assert 'name="language" value="es" lang="es">Español</button>' in body


def test_the_switch_sets_the_language_and_returns_to_the_same_page(client):
    login = reverse("account_login")
    response = client.post(
        reverse("set_language"), {"language": "es"}, HTTP_REFERER=f"http://testserver{login}"
    )
    assert response.status_code == 302 and response["Location"] == f"http://testserver{login}"
    page = client.get(login, HTTP_ACCEPT_LANGUAGE="en")  # the cookie beats the browser
    assert page["Content-Language"] == "es"
    assert 'name="language" value="en" lang="en">English</button>' in page.content.decode()


def test_the_switch_never_sends_anyone_to_another_site(client):
    for target in ("https://evil.example/", "//evil.example/"):
        response = client.post(
            reverse("set_language"), {"language": "es", "next": target}, HTTP_REFERER=target
        )
        assert response.status_code == 302
        assert "evil" not in response["Location"]


def test_the_switch_is_for_anonymous_pages_only(client, consultant):
    client.force_login(consultant.user)
    assert 'class="language-switch"' not in client.get("/me/").content.decode()


def test_the_public_verify_page_speaks_the_browser_language(client, paid_by_check):
    _payment, receipt = paid_by_check
    url = reverse("receipt_verify", kwargs={"code": receipt.verification_code})
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="es")
    assert response["Content-Language"] == "es"
    assert SPANISH_MONTH.search(response.content.decode())
    assert 'class="language-switch"' in response.content.decode()


def test_the_javascript_catalog_is_served_and_loaded_first(client):
    catalog = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="es")
    assert catalog.status_code == 200
    assert "django.gettext" in catalog.content.decode()
    page = client.get(reverse("account_login")).content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts.index(reverse("javascript-catalog")) < scripts.index("/static/js/portal.js")


def test_the_scripts_messages_come_in_spanish(client):
    catalog = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Vuelva a comprobarlo dentro de unos minutos" in catalog
    english = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Vuelva a comprobarlo" not in english


@pytest.mark.parametrize(
    ("language", "long", "month"),
    [
        ("en", "28 November 2026", "November 2026"),
        ("es", "28 de noviembre de 2026", "noviembre de 2026"),
    ],
)
def test_dates_and_money_are_written_for_the_language(language, long, month):
    from datetime import date
    from decimal import Decimal

    from django.template import Context, Template

    from core.money import format_money

    with translation.override(language):
        day = date(2026, 11, 28)
        rendered = Template(
            '{% load honora %}{{ d|date:"DATE_FORMAT" }}|{{ d|date:"YEAR_MONTH_FORMAT" }}'
            "|{{ m|money }}|{{ h|hours }}"
        ).render(Context({"d": day, "m": Decimal("1234.5"), "h": Decimal("1234.50")}))
        assert rendered == f"{long}|{month}|$1,234.50|1234.5"
        assert format_money(Decimal("-1234567.5")) == "−$1,234,567.50"
