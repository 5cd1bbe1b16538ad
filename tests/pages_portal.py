from tests.access_tables import PORTAL

PAGES = {
    "portal:home": (None, PORTAL),
    "portal:contributions": (None, PORTAL),
    "portal:log": (None, PORTAL),
    "portal:payments": (None, PORTAL),
    "portal:receipts": (None, PORTAL),
    "portal:preferences": (None, PORTAL),
}
