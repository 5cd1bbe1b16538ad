"""The language switch on the public pages: whole at 360 px, clean under axe, and it works.

Signed out, the browser's language decides; the switch (a form posting to Django's
set_language) overrides it and comes back to the same page.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import _offline
from tests.browser.test_crawl import AXE_IMPACTS, axe_findings

pytestmark = pytest.mark.django_db(transaction=True)

WIDEST = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


@pytest.fixture
def narrow(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="en-US")
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_the_switch_turns_the_sign_in_page_spanish_and_back(narrow, live_server):
    page = narrow
    axe = Axe()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_attribute("html", "lang") == "en"
    for language, other, label in (("en", "es", "Español"), ("es", "en", "English")):
        switch = page.locator(".language-switch")
        switch.scroll_into_view_if_needed()
        assert page.evaluate(WIDEST) <= 360, f"the page is wider than 360 px ({language})"
        assert axe_findings(axe, page, AXE_IMPACTS) == []
        page.get_by_role("button", name=label).click()
        page.wait_for_function(f"document.documentElement.lang === '{other}'")
        assert page.url == f"{live_server.url}/accounts/login/"  # the same page


def test_a_consultant_who_chooses_spanish_reads_the_portal_in_spanish(
    browser, live_server, client, consultant, engagement
):
    """On a phone: Preferences → Español → save; the next pages, the menu and the quick
    exit speak Spanish, whatever the browser's own language (here English)."""
    from tests.browser.conftest import sign_in_with_session

    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="en-US")
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    try:
        sign_in_with_session(context, client, consultant.user, live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/me/preferences/")
        assert page.get_attribute("html", "lang") == "en"
        page.get_by_label("Español").check()
        page.get_by_role("button", name="Save preferences").click()
        page.wait_for_function("document.documentElement.lang === 'es'")
        page.goto(f"{live_server.url}/me/")
        assert page.get_attribute("html", "lang") == "es"
        assert page.get_by_role("heading", level=1).inner_text() == "Su trabajo y sus pagos"
        assert page.get_by_role("link", name="Salir de esta página").is_visible()
        assert page.get_by_role("button", name="Menú").is_visible()
        assert page.evaluate(WIDEST) <= 360
        consultant.refresh_from_db()
        assert consultant.preferred_language == "es"
    finally:
        context.close()
