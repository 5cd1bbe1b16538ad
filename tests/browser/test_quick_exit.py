"""The quick exit, in a real browser: by button, by Shift three times, and by plain link
without JavaScript. Afterwards Back does not bring Honora back."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.browser.conftest import NEUTRAL_SITE, _offline, sign_in_with_session
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(context, client, consultant, live_server):
    EngagementFactory(consultant=consultant)
    sign_in_with_session(context, client, consultant.user, live_server.url)
    return live_server.url


def _is_neutral(page) -> bool:
    return page.url.startswith(NEUTRAL_SITE) and "Honora" not in page.content()


def _back_leaves_honora_behind(page, base):
    """Back after the exit: Honora is never shown again."""
    # The page replacing itself may interrupt the wait for Back to finish.
    with contextlib.suppress(Exception):
        page.go_back(wait_until="load")
    page.wait_for_load_state("load")
    if page.url.startswith(base):
        # a Honora page came back from the history: it must leave again at once
        page.wait_for_url(NEUTRAL_SITE + "**")
    assert not page.url.startswith(base), page.url
    assert "Honora" not in page.content()


def _visit(page, a11y, url):
    page.goto(url)
    a11y.check(page)


def test_the_button_leaves_and_back_does_not_return(page, a11y, signed_in):
    base = signed_in
    _visit(page, a11y, base + "/me/")
    _visit(page, a11y, base + "/me/contributions/")
    button = page.get_by_role("link", name="Exit this page")
    assert button.is_visible()
    assert button.get_attribute("href") == NEUTRAL_SITE
    button.click()
    page.wait_for_url(NEUTRAL_SITE + "**")
    assert _is_neutral(page)
    _back_leaves_honora_behind(page, base)
    # and again: the earlier page of the history also refuses to show
    _back_leaves_honora_behind(page, base)


def test_shift_three_times_leaves(page, a11y, signed_in):
    base = signed_in
    _visit(page, a11y, base + "/me/preferences/")
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL_SITE + "**")
    assert _is_neutral(page)
    _back_leaves_honora_behind(page, base)


def test_shift_works_while_typing_in_a_field(page, a11y, signed_in):
    base = signed_in
    _visit(page, a11y, base + "/me/log/")
    page.get_by_label("What you did (optional)").click()
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL_SITE + "**")


def test_slow_shifts_and_capital_letters_do_not_leave(page, a11y, signed_in):
    base = signed_in
    _visit(page, a11y, base + "/me/log/")
    field = page.get_by_label("What you did (optional)")
    field.click()
    # Capitals typed with Shift held are not presses of Shift on its own.
    page.keyboard.type("Met With Ana And Bo")
    # Three presses more than a second apart are not a quick exit either.
    for _ in range(3):
        page.keyboard.press("Shift")
        page.wait_for_timeout(1100)
    page.wait_for_timeout(300)
    assert page.url == base + "/me/log/"
    assert field.input_value() == "Met With Ana And Bo"


@pytest.fixture
def beacons_reach_the_server(context, live_server):
    """Let Honora's own requests through untouched: a request held by Playwright's
    interception is cancelled when its page leaves, and the sign-out beacon is sent
    exactly then. Everything else stays offline, as in every browser test."""
    context.unroute("**/*")
    context.route(lambda url: not url.startswith(live_server.url), _offline(live_server.url))


@contextlib.contextmanager
def _signs_out(page):
    """The session the page was signed in with is ended on the server within seconds."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    (key,) = [
        c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME
    ]
    assert Session.objects.filter(session_key=key).exists()
    yield
    # The beacon is sent as the page leaves; wait for the server to act on it.
    deadline = time.monotonic() + 10
    while Session.objects.filter(session_key=key).exists():
        assert time.monotonic() < deadline, "the quick exit did not end the session"
        time.sleep(0.05)


def _asks_for_sign_in(page, a11y, base):
    page.goto(base + "/me/")
    assert page.url.startswith(base + "/accounts/login/"), page.url
    assert page.get_by_role("textbox", name="Password").is_visible()
    assert "River" not in page.content()
    a11y.check(page)


def test_coming_back_on_purpose_works_but_the_session_is_gone(
    page, a11y, signed_in, beacons_reach_the_server
):
    base = signed_in
    _visit(page, a11y, base + "/me/")
    with _signs_out(page):
        page.get_by_role("link", name="Exit this page").click()
    page.wait_for_url(NEUTRAL_SITE + "**")
    # Typing the address afresh is a deliberate visit, and is shown: the sign-in
    # page, because the exit ended the session.
    _asks_for_sign_in(page, a11y, base)


def test_shift_three_times_ends_the_session_too(page, a11y, signed_in, beacons_reach_the_server):
    base = signed_in
    _visit(page, a11y, base + "/me/")
    with _signs_out(page):
        for _ in range(3):
            page.keyboard.press("Shift")
        page.wait_for_url(NEUTRAL_SITE + "**")
    _back_leaves_honora_behind(page, base)
    _asks_for_sign_in(page, a11y, base)


def test_without_javascript_the_button_is_a_plain_link(browser, live_server, client, consultant):
    context = browser.new_context(java_script_enabled=False)
    context.route("**/*", _offline(live_server.url))
    try:
        sign_in_with_session(context, client, consultant.user, live_server.url)
        page = context.new_page()
        page.goto(live_server.url + "/me/")
        page.get_by_role("link", name="Exit this page").click()
        page.wait_for_url(NEUTRAL_SITE + "**")
        assert "Local forecast" in page.content()
    finally:
        context.close()


def test_the_sign_in_page_has_the_quick_exit_too(page, a11y, live_server):
    _visit(page, a11y, live_server.url + "/accounts/login/")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL_SITE + "**")


def test_on_a_phone_the_quick_exit_stays_on_top_of_the_open_menu(
    browser, live_server, client, consultant
):
    """At 360 px the menu slides over the page; the exit button must still be there to press."""
    EngagementFactory(consultant=consultant)
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    context.route("**/*", _offline(live_server.url))
    try:
        sign_in_with_session(context, client, consultant.user, live_server.url)
        page = context.new_page()
        page.goto(live_server.url + "/me/")
        page.get_by_role("button", name="Menu").click()
        sign_out = page.get_by_role("navigation", name="Main").get_by_role(
            "button", name="Sign out"
        )
        sign_out.wait_for(state="visible")
        exit_button = page.get_by_role("link", name="Exit this page")
        box = exit_button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        # The element at the button's centre is the button: nothing of the menu covers it.
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('#quick-exit') !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top
        exit_button.click()
        page.wait_for_url(NEUTRAL_SITE + "**")
        assert _is_neutral(page)
    finally:
        context.close()
