"""Portal pages: a consultant sees their own; staff have no portal (404)."""

from tests.access_tables import PORTAL, PORTAL_OWNED

PAGES = {
    "portal:home": (None, PORTAL),
    "portal:contributions": (None, PORTAL),
    "portal:contribution": (
        lambda r: {"public_id": r["contribution"].public_id},
        PORTAL_OWNED,
    ),
    "portal:log": (None, PORTAL),
    "portal:payments": (None, PORTAL),
    "portal:receipts": (None, PORTAL),
    "portal:preferences": (None, PORTAL),
}
