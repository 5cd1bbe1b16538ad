"""Browser tests: Python Playwright driving Debian's chromium, headless and offline.

Playwright never downloads a browser here; it drives the system chromium at
``HONORA_CHROMIUM`` (default /usr/bin/chromium). Without it these tests skip
with the reason shown, except when ``HONORA_REQUIRE_BROWSER=1`` (CI): then a
missing browser is a failure. Nothing reaches the network: every request that
is not for the live server is answered locally (the quick exit's neutral
site) or refused.

Every page a journey visits is checked with axe-core (bundled by
axe-playwright-python); any serious or critical violation fails the test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import mail

CHROMIUM = Path(os.environ.get("HONORA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEUTRAL_SITE = "https://www.weather.gov/"
NEUTRAL_PAGE = (
    "<!doctype html><html lang='en'><head><title>Forecast</title></head>"
    "<body><main><h1>Local forecast</h1><p>Sunny.</p></main></body></html>"
)
BLOCKING_IMPACTS = ("serious", "critical")


def _unavailable(reason: str):
    if os.environ.get("HONORA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"HONORA_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (install it: apt-get install -y chromium)")


@pytest.fixture(scope="module")
def _playwright():
    if not CHROMIUM.exists():
        _unavailable(f"no chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev dependencies are not installed
        _unavailable("the playwright package is not installed (uv sync)")
    # Playwright's sync API keeps an event loop in this thread; Django's ORM,
    # used by the tests themselves between browser calls, must be allowed to run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def _offline(live_server_url: str):
    def handle(route):
        url = route.request.url
        if url.startswith(live_server_url):
            return route.continue_()
        if url.startswith(NEUTRAL_SITE):
            return route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE)
        return route.abort()

    return handle


def _watch_csp(context) -> list[str]:
    """Every Content-Security-Policy refusal any page of ``context`` reports."""
    refused: list[str] = []

    def watch(page):
        page.on(
            "console",
            lambda msg: (
                refused.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )

    context.on("page", watch)
    return refused


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="en-US")
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    refused = _watch_csp(context)
    yield context
    context.close()
    assert not refused, "the Content-Security-Policy refused something:\n" + "\n".join(refused)


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def phone(browser, live_server):
    """A small screen, as many consultants use."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    refused = _watch_csp(context)
    yield context.new_page()
    context.close()
    assert not refused, "the Content-Security-Policy refused something:\n" + "\n".join(refused)


@pytest.fixture
def narrow_phone(browser, live_server):
    """The narrowest phone screen Honora supports (360 px): a page, the CSP watched."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(15_000)
    refused = _watch_csp(context)
    yield context.new_page()
    context.close()
    assert not refused, "the Content-Security-Policy refused something:\n" + "\n".join(refused)


def assert_fits(page) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], f"wider than the screen on {page.url}: {widths}"


class A11y:
    """Runs axe-core on a page and remembers every page it checked."""

    def __init__(self):
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.checked: list[str] = []

    def check(self, page) -> None:
        page.wait_for_load_state("load")
        results = self.axe.run(page)
        blocking = [
            v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS
        ]
        self.checked.append(page.url)
        assert not blocking, f"axe found serious or critical problems on {page.url}:\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:5])
            for v in blocking
        )


@pytest.fixture
def a11y(_playwright):
    return A11y()


CODE_LINE = re.compile(r"^\s*([A-Z0-9]{3,}(?:-[A-Z0-9]{3,})+)\s*$", re.M)


def sign_in_by_code(page, a11y, base_url: str, email: str) -> str:
    """Sign in as a person would: ask for a code, read the e-mail, type the code."""
    page.goto(base_url + "/accounts/login/")
    a11y.check(page)
    page.get_by_role("link", name="E-mail me a sign-in code").click()
    page.wait_for_url("**/accounts/login/code/")
    a11y.check(page)
    before = len(mail.outbox)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the code").click()
    page.wait_for_url("**/accounts/login/code/confirm/")
    a11y.check(page)
    assert len(mail.outbox) == before + 1, "one sign-in e-mail was sent"
    message = mail.outbox[-1]
    assert message.to == [email]
    match = CODE_LINE.search(message.body)
    assert match, f"no code in the e-mail:\n{message.body}"
    page.get_by_label("Code").fill(match.group(1))
    page.get_by_role("button", name="Sign in").click()
    return message.subject


def sign_in_by_password(page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/accounts/login/")
    form = page.locator("form", has=page.get_by_label("Password"))
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def sign_in_with_session(context, client, user, base_url: str) -> None:
    """Skip the sign-in pages: reuse a session made by Django's test client."""
    from django.conf import settings

    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base_url}]
    )
