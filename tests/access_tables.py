"""Who gets what on each page; test_url_access.py walks every row as every role.

Each area keeps its own table (its owner adds a row per new page):
``pages_staff.py`` for coordinator and staff pages, ``pages_portal.py`` for the
consultant portal, ``pages_finance.py`` for finance pages. A row is
``name: (kwargs_builder_or_None, {role: status})``; a builder gets a dict of
standing records (see ``people`` in test_url_access.py) and returns URL kwargs.
"""

from __future__ import annotations

OK, DENY, MISSING, LOGIN, REDIRECT = 200, 403, 404, 302, 302

STAFF_ONLY = {
    "anonymous": LOGIN,
    "consultant": DENY,
    "outsider": DENY,
    "coordinator": OK,
    "finance": OK,
    "admin": OK,
}
COORDINATION = {
    "anonymous": LOGIN,
    "consultant": DENY,
    "outsider": DENY,
    "coordinator": OK,
    "finance": DENY,
    "admin": OK,
}
FINANCE_ONLY = {
    "anonymous": LOGIN,
    "consultant": DENY,
    "outsider": DENY,
    "coordinator": DENY,
    "finance": OK,
    "admin": DENY,
}
# Portal pages about "me": every consultant sees their own; staff have no portal.
PORTAL = {
    "anonymous": LOGIN,
    "consultant": OK,
    "outsider": OK,
    "coordinator": MISSING,
    "finance": MISSING,
    "admin": MISSING,
}
# A portal page about one record owned by ``consultant``: the outsider gets 404.
PORTAL_OWNED = {
    "anonymous": LOGIN,
    "consultant": OK,
    "outsider": MISSING,
    "coordinator": MISSING,
    "finance": MISSING,
    "admin": MISSING,
}

ROLES_FOR_WEBHOOK = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")

from tests.pages_finance import PAGES as FINANCE_PAGES  # noqa: E402
from tests.pages_portal import PAGES as PORTAL_PAGES  # noqa: E402
from tests.pages_staff import PAGES as STAFF_PAGES  # noqa: E402

PAGES = {
    "home": (
        None,
        {
            "anonymous": LOGIN,
            "consultant": REDIRECT,
            "outsider": REDIRECT,
            "coordinator": REDIRECT,
            "finance": REDIRECT,
            "admin": REDIRECT,
        },
    ),
    "api_tokens": (
        None,
        {
            "anonymous": LOGIN,
            "consultant": OK,
            "outsider": OK,
            "coordinator": OK,
            "finance": OK,
            "admin": OK,
        },
    ),
    # Browsers ask for it on their own; it redirects to the static icon, for everyone.
    "favicon": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, REDIRECT)),
    # Stripe posts signed events here; a GET is refused for everyone (see test_webhooks.py).
    "stripe_webhook": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, 405)),
    # Public on purpose: load balancers and monitors call them without signing in. They
    # answer numbers and fixed words only, no personal data (tests/ops/test_health.py).
    "ops:healthz": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, 200)),
    "ops:readyz": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, 200)),
    # Off by default (404 for everyone); when on, a bearer token, not a session, lets a
    # scraper in (tests/ops/test_metrics.py).
    "ops:metrics": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, 404)),
    # The language switch (Django's set_language): a GET changes nothing and sends
    # everyone back to a same-site page; the POST is tested in tests/i18n/.
    "set_language": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, REDIRECT)),
    # The scripts' messages in the page's language: public, no personal data.
    "javascript-catalog": (None, dict.fromkeys(ROLES_FOR_WEBHOOK, 200)),
    **STAFF_PAGES,
    **PORTAL_PAGES,
    **FINANCE_PAGES,
}
