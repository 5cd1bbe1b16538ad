"""Every page each role can reach, whole at 360 px and at 1280 px.

With the demo's data (``demo.data.seed_demo``) plus one paid-out batch, this signs in
as each role (consultant, coordinator, finance, admin) and walks breadth-first from the
role's home, following the same-origin ``<a href>`` links in the navigation and on the
pages themselves, in sorted order so every run visits the same pages. The sign-in pages
(sign-in, sign-in by code, the code's confirmation, the two-step code) and the public
receipt check are walked signed out. Each page, at each width (its own browser
context), fails on:

- **the page wider than the viewport**: ``document.documentElement.scrollWidth`` or
  ``document.body.scrollWidth`` above ``window.innerWidth`` (something off-screen to the
  left, such as the skip link at ``left: -999px``, does not widen a page and is fine);
- **a money or download cell out of sight**: every visible element that matches
  ``MONEY_OR_DOWNLOAD`` must lie wholly inside the viewport, and not be cut off by an
  ancestor that scrolls or clips sideways. Page authors: mark every amount with
  ``data-money`` (or the ``num`` class on its table cell, or the ``money`` class) and every
  download link with ``download`` or ``data-download``. Hidden elements
  (``display: none``, ``visibility: hidden``, inside a closed ``<details>``, or the
  visually-hidden 1 px pattern) are not checked: nobody sees them;
- **a console error or page error**, and **a same-origin request that fails** or answers
  400 or more (the page itself, a stylesheet, ``/favicon.ico``...);
- **an axe-core finding** of moderate, serious or critical impact;
- **template syntax shown as text** (``{#``, ``{%``, ``{{``...): a multi-line ``{# #}``
  comment, which Django prints, once showed on every page.

All failures are gathered and reported together, role by role and page by page. To keep the
walk bounded, at most ``PER_VIEW`` URLs of one view (``resolve(path).view_name``) and
``PER_ROLE`` pages per role and width are visited. Downloads, sign-out, the quick exit
(off-site) and the API are not followed; only GETs are, so nothing changes state.

``HONORA_SCREENSHOTS=<dir>`` also saves full-page screenshots of the main pages
(``SCREENSHOTS``) as ``<role>-<page>-<width>.png``: see the README's Screenshots section.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core import mail
from django.urls import Resolver404, resolve

from tests.browser.conftest import CODE_LINE, _offline, sign_in_with_session

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (360, 1280)
HEIGHT = 800
SHOT_HEIGHT = 2400  # screenshots stop here
PER_VIEW = 2
PER_ROLE = 40
AXE_IMPACTS = ("moderate", "serious", "critical")
MONEY_OR_DOWNLOAD = "[data-money], td.num, th.num, .money, a[download], [data-download]"

ROLES = {
    "consultant": "consultant@example.org",
    "coordinator": "coordinator@example.org",
    "finance": "finance@example.org",
    "admin": "admin@example.org",
}

# Views never followed: files (PDF, CSV, scans), sign-out, and JSON fragments.
SKIPPED_VIEWS = {
    "account_logout",
    "portal:receipt_pdf",
    "portal:statement_pdf",
    "payments:receipt_pdf",
    "payments:statement_pdf",
    "payments:payment_proof",
    "payments:consultant_taxform_file",
    "payments:tax_export",
    "payments:batch_progress",
    "engagements:contribution_attachment",
    "mfa_download_recovery_codes",
}
SKIPPED_PREFIXES = (
    "/api/",  # the machine interface: JSON, proved by tests/api
    "/webhooks/",
    "/static/",
    "/media/",
    "/healthz",
    "/readyz",
    "/metrics",
)
DOWNLOAD_HINTS = ("/download", "/pdf/", "/export/", "/file/", "/proof/", ".pdf", ".csv")
DOWNLOAD_QUERIES = ("format=csv", "format=pdf", "export=", "download=")

# The main pages, photographed when HONORA_SCREENSHOTS is set: view name -> file name part.
SCREENSHOTS = {
    "consultant": {
        "portal:home": "home",
        "portal:contributions": "my-work",
        "portal:contribution": "entry",
        "portal:log": "log-hours",
        "portal:payments": "payments",
        "portal:receipts": "receipts",
        "portal:preferences": "preferences",
        "portal:stripe_onboarding": "direct-deposit",
    },
    "coordinator": {
        "engagements:dashboard": "studies",
        "engagements:study_dashboard": "dashboard",
        "engagements:review": "review",
        "engagements:log": "log-work",
        "engagements:week": "week",
        "engagements:contribution_detail": "entry",
        "consultants:list": "consultants",
        "engagements:disputes": "disputes",
    },
    "finance": {
        "payments:home": "batches",
        "payments:batch": "batch",
        "payments:payment": "payment",
        "payments:receipts": "receipts",
        "payments:tax": "tax-summary",
        "payments:stripe_status": "direct-deposit",
    },
    "public": {
        "account_login": "sign-in",
        "account_request_login_code": "sign-in-code",
        "account_confirm_login_code": "sign-in-code-confirm",
        "mfa_authenticate": "two-step",
        "receipt_verify": "verify",
    },
}

# One script, run on each page once it has loaded: the page's width and every money or
# download cell that is visible but cannot be seen without scrolling sideways.
MEASURE = """
(selector) => {
  const vw = window.innerWidth;
  const describe = (el) => {
    const text = (el.innerText || el.getAttribute('href') || '').trim().replace(/\\s+/g, ' ');
    const cls = el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return `<${el.tagName.toLowerCase()}${cls}> "${text.slice(0, 40)}"`;
  };
  const shown = (el) => {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    const closed = el.closest('details:not([open])');
    if (closed && !closed.querySelector(':scope > summary')?.contains(el)) return false;
    const r = el.getBoundingClientRect();
    // The visually-hidden pattern (1 px, clipped) is for screen readers only.
    return r.width > 1 && r.height > 1;
  };
  const cells = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    let cut = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'visible' || a.scrollWidth <= a.clientWidth + 1) continue;
      const box = a.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
        const how = ox === 'hidden' || ox === 'clip' ? 'clipped' : 'scrolling';
        cells.push({cell: describe(el),
                    where: `at ${Math.round(r.left)}-${Math.round(r.right)} px, cut off by a ` +
                           `sideways-${how} <${a.tagName.toLowerCase()}> showing ` +
                           `${Math.round(box.left)}-${Math.round(box.right)} px`});
        cut = true;
        break;
      }
    }
    const left = r.left + window.scrollX, right = r.right + window.scrollX;
    if (!cut && (left < -0.5 || right > vw + 0.5)) {
      cells.push({cell: describe(el),
                  where: `at ${Math.round(left)}-${Math.round(right)} px on a ${vw} px screen`});
    }
  }
  const icons = [...document.querySelectorAll('link[rel~="icon"]')].map((l) => l.href);
  return {
    icons: icons.length ? icons : [new URL('/favicon.ico', location.href).href],
    vw,
    doc: document.documentElement.scrollWidth,
    body: document.body ? document.body.scrollWidth : 0,
    cells,
  };
}
"""


@dataclass
class Walk:
    """One role's walk at one width: where it went and what it found."""

    role: str
    width: int
    base: str
    shots: Path | None
    visited: list[str] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=dict)
    heard: list[str] = field(default_factory=list)  # console, page errors, failed requests
    photographed: set[str] = field(default_factory=set)
    icons: dict[str, int] = field(default_factory=dict)  # icon URL -> its status

    def fail(self, where: str, problem: str) -> None:
        self.failures.setdefault(where, []).append(problem)


def _listen(page, walk: Walk) -> None:
    origin = walk.base

    def console(msg):
        # A failed load is reported (with its URL) by the response listener below.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            walk.heard.append(f"console error: {msg.text}")

    def response(resp):
        if resp.url.startswith(origin) and resp.status >= 400:
            walk.heard.append(f"{resp.status} for {resp.url[len(origin) :]}")

    def failed(req):
        # ERR_ABORTED: the crawl moved on before a late request (the icon) finished; the
        # page's icons are requested and checked on their own (walk.icons).
        if req.url.startswith(origin) and req.failure != "net::ERR_ABORTED":
            walk.heard.append(f"request failed ({req.failure}) for {req.url[len(origin) :]}")

    page.on("console", console)
    page.on("pageerror", lambda error: walk.heard.append(f"page error: {error}"))
    page.on("response", response)
    page.on("requestfailed", failed)


def axe_findings(axe, page, impacts=AXE_IMPACTS) -> list[str]:
    """axe-core's findings of the given impacts, one readable line each."""
    results = axe.run(page)
    return [
        f"axe {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:4])
        + (f" and {len(v['nodes']) - 4} more" if len(v["nodes"]) > 4 else "")
        for v in results.response["violations"]
        if v.get("impact") in impacts
    ]


def _view_name(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


def _followable(url: str, base: str) -> str | None:
    """The path (with its query) to visit for link ``url``, or None to leave it."""
    url = urldefrag(url)[0]
    if not url.startswith(base + "/"):
        return None  # another site: the quick exit, Stripe, documentation
    parts = urlsplit(url)
    path = parts.path
    if path.startswith(SKIPPED_PREFIXES) or any(hint in path for hint in DOWNLOAD_HINTS):
        return None
    # Django's own admin: its index is checked, its inner pages are Django's, not ours.
    if path.startswith("/admin/") and path != "/admin/":
        return None
    if _view_name(path) in SKIPPED_VIEWS or any(q in parts.query for q in DOWNLOAD_QUERIES):
        return None
    return _normal(path, parts.query)


def _normal(path: str, query: str) -> str:
    # Where to go after signing in changes nothing on the page: one visit is enough.
    kept = "&".join(sorted(p for p in query.split("&") if p and not p.startswith("next=")))
    return path + (f"?{kept}" if kept else "")


TEMPLATE_LEAKS = ("{#", "#}", "{%", "%}", "{{", "}}")


def check_page(page, walk: Walk, axe, *, label: str | None = None) -> None:
    """Check the page the browser is on; file what is wrong under its path."""
    page.wait_for_load_state("load")
    path = page.url[len(walk.base) :] or "/"
    where = label or path
    walk.visited.append(where)
    measured = page.evaluate(MEASURE, MONEY_OR_DOWNLOAD)
    widest = max(measured["doc"], measured["body"])
    if widest > measured["vw"]:
        walk.fail(where, f"page is {widest} px wide on a {measured['vw']} px screen")
    # One line per column (cells at the same place), naming its first cell.
    columns: dict[str, list[str]] = {}
    for cell in measured["cells"]:
        columns.setdefault(cell["where"], []).append(cell["cell"])
    for place, cells in columns.items():
        more = f" and {len(cells) - 1} more there" if len(cells) > 1 else ""
        walk.fail(where, f"money/download out of sight {place}: {cells[0]}{more}")
    # Headless Chromium does not fetch the tab's icon; a browser would, so ask for it.
    for icon in measured["icons"]:
        if icon.startswith(walk.base) and icon not in walk.icons:
            walk.icons[icon] = page.request.get(icon).status
            if walk.icons[icon] >= 400:  # said once per walk: it is the same on every page
                walk.fail(where, f"{walk.icons[icon]} for the icon {icon[len(walk.base) :]}")
    if walk.role.endswith("(es)") and page.get_attribute("html", "lang") != "es":
        walk.fail(where, "the Spanish reader's page is not in Spanish")
    # Template syntax shown as text: a comment or tag Django did not take as one.
    shown = page.inner_text("body")
    for leak in TEMPLATE_LEAKS:
        if leak in shown:
            walk.fail(where, f"template syntax shown as text: {leak!r}")
    for finding in axe_findings(axe, page):
        walk.fail(where, finding)
    for heard in walk.heard:
        walk.fail(where, heard)
    walk.heard.clear()
    _screenshot(page, walk, path)


def _screenshot(page, walk: Walk, path: str) -> None:
    if walk.shots is None:
        return
    role = "public" if walk.role == "signed out" else walk.role
    name = SCREENSHOTS.get(role, {}).get(_view_name(urlsplit(path).path) or "")
    if name is None:
        return
    if name in walk.photographed:
        return  # the first of its kind only
    walk.photographed.add(name)
    target = walk.shots / f"{role}-{name}-{walk.width}.png"
    # The whole page, but not a 5,000 px dashboard: its top shows what it looks like.
    height = page.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": walk.width, "height": min(height, SHOT_HEIGHT)}
    page.screenshot(path=str(target), full_page=True, clip=clip, animations="disabled")
    _shrink(target)


def _shrink(png: Path) -> None:
    """64 colours, no dithering: text stays sharp and the file a third of the size."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=64, dither=Image.Dither.NONE)
    small.save(png, optimize=True)


def crawl(page, walk: Walk, axe, start: str) -> None:
    """Breadth-first from ``start``: every followable link, in sorted order, bounded."""
    from playwright.sync_api import Error as PlaywrightError

    queue: deque[str] = deque([start])
    seen: set[str] = {start}
    checked: set[str] = set()
    per_view: dict[str, int] = {}
    while queue and len(walk.visited) < PER_ROLE:
        path = queue.popleft()
        view = _view_name(urlsplit(path).path) or "unresolved"
        if per_view.get(view, 0) >= PER_VIEW:
            continue
        per_view[view] = per_view.get(view, 0) + 1
        try:
            page.goto(walk.base + path)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue  # a file after all: not a page
            raise
        parts = urlsplit(page.url)
        landed = _normal(parts.path, parts.query)
        seen.add(landed)
        if landed in checked:
            continue  # a redirect to a page already checked (the one study's dashboard)
        checked.add(landed)
        check_page(page, walk, axe)
        links = page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.href)")
        for link in sorted(set(links)):
            found = _followable(link, walk.base)
            if found is not None and found not in seen:
                seen.add(found)
                queue.append(found)


def _context(browser, live_server, width: int):
    context = browser.new_context(viewport={"width": width, "height": HEIGHT}, locale="en-US")
    context.route("**/*", _offline(live_server.url))
    context.set_default_timeout(20_000)
    return context


def _report(walks: list[Walk]) -> str:
    lines = []
    for walk in walks:
        for where, problems in walk.failures.items():
            lines.append(f"[{walk.role} @ {walk.width} px] {where}")
            lines.extend(f"    - {p}" for p in problems)
    return "\n".join(lines)


def _screenshot_dir() -> Path | None:
    value = os.environ.get("HONORA_SCREENSHOTS")
    if not value:
        return None
    shots = Path(value)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


# ---------------------------------------------------------------------------- the data


@pytest.fixture
def demo_world(transactional_db):
    """The demo study, plus what the demo leaves to people: one batch paid out.

    Finance builds a batch of everything approved up to last week, a second finance
    person approves it, it is executed, and two manual hand-overs (check, card or cash)
    are recorded and their receipts issued; River disputes one of their approved hours.
    """
    from demo.data import seed_demo
    from engagements.models import Contribution
    from engagements.services.disputes import dispute_open
    from payments.documents.receipts import receipt_issue
    from payments.models import Payment
    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual

    result = seed_demo()
    users = result.users
    finance, finance2 = users["finance@example.org"], users["finance2@example.org"]
    today = date.today()
    batch = batch_build(by=finance, cutoff_date=today - timedelta(days=7))
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance)
    manual = (
        batch.payments.filter(status__in=Payment.ON_ITS_WAY)
        .exclude(method="stripe")
        .order_by("consultant__display_name")
    )
    receipts = []
    for number, payment in enumerate(manual[:2]):
        paid = payment_record_manual(
            payment=payment,
            by=finance,
            reference=f"10{number:02d}",
            handed_over_on=today - timedelta(days=1),
        )
        receipts.append(receipt_issue(payment_id=paid.pk))
    river = users["consultant@example.org"]
    approved = (
        Contribution.objects.filter(
            engagement__consultant__user=river, status=Contribution.Status.APPROVED
        )
        .order_by("date", "pk")
        .first()
    )
    if approved is not None:
        dispute_open(contribution=approved, by=river, comment="It was an hour longer.")
    return {"users": users, "batch": batch, "receipts": receipts}


# ---------------------------------------------------------------------------- the tests


def test_every_page_is_whole(browser, live_server, client, demo_world):
    """Each role's pages, then the signed-out ones; one report of everything found.

    One test, so the demo is seeded once (seeding is most of the cost of a test)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    shots = _screenshot_dir()
    walks: list[Walk] = []
    for role, email in ROLES.items():
        walks += _walk_role(
            browser, live_server, client, axe, shots, role, demo_world["users"][email]
        )
    # A consultant who reads Spanish: the same pages in longer words must still fit.
    reader = demo_world["users"][ROLES["consultant"]].consultant
    reader.preferred_language = "es"
    reader.save(update_fields=["preferred_language"])
    walks += _walk_role(browser, live_server, client, axe, shots, "consultant (es)", reader.user)
    walks += _walk_signed_out(browser, live_server, axe, shots, demo_world["receipts"][0])
    for walk in walks:
        assert len(walk.visited) > 3, f"{walk.role} reached only {walk.visited}"
    visited = "\n".join(f"  {w.role} @ {w.width} px: {len(w.visited)} pages" for w in walks)
    report = _report(walks)
    assert not report, f"pages are not whole:\n{report}\n(visited:\n{visited})"


def _walk_role(browser, live_server, client, axe, shots, role, user) -> list[Walk]:
    walks = []
    for width in WIDTHS:
        context = _context(browser, live_server, width)
        try:
            sign_in_with_session(context, client, user, live_server.url)
            page = context.new_page()
            walk = Walk(role, width, live_server.url, shots)
            _listen(page, walk)
            crawl(page, walk, axe, "/")
            walks.append(walk)
            print(f"{role} @ {width} px visited {len(walk.visited)}: {' '.join(walk.visited)}")
        finally:
            context.close()
    return walks


def _walk_signed_out(browser, live_server, axe, shots, receipt) -> list[Walk]:
    """The sign-in pages, each step of signing in by code, the two-step code page finance
    meets after their password, and the public receipt check."""
    from demo.data import DEMO_PASSWORD

    base = live_server.url
    walks = []
    for width in WIDTHS:
        context = _context(browser, live_server, width)
        try:
            page = context.new_page()
            walk = Walk("signed out", width, base, shots)
            _listen(page, walk)
            # The sign-in page and every page it links to (code, password reset...).
            crawl(page, walk, axe, "/accounts/login/")
            # The code's confirmation: only reachable by asking for a code.
            page.goto(base + "/accounts/login/code/")
            page.get_by_label("Email").fill(ROLES["consultant"])
            before = len(mail.outbox)
            page.get_by_role("button", name="Send the code").click()
            page.wait_for_url("**/accounts/login/code/confirm/")
            assert len(mail.outbox) == before + 1
            assert CODE_LINE.search(mail.outbox[-1].body)
            check_page(page, walk, axe)
            # The two-step code page: after finance's password.
            context.clear_cookies()
            page.goto(base + "/accounts/login/")
            form = page.locator("form", has=page.get_by_label("Password"))
            form.get_by_label("Email").fill(ROLES["finance"])
            form.get_by_label("Password").fill(DEMO_PASSWORD)
            form.locator("button[type=submit]").click()
            page.wait_for_url("**/accounts/2fa/authenticate/")
            check_page(page, walk, axe)
            context.clear_cookies()
            page.goto(base + f"/verify/{receipt.verification_code}/")
            check_page(page, walk, axe, label="/verify/<code>/")
            walks.append(walk)
            print(f"signed out @ {width} px visited: {' '.join(walk.visited)}")
        finally:
            context.close()
    return walks
