from tests.access_tables import FINANCE_ONLY

PAGES = {
    "payments:home": (None, FINANCE_ONLY),
}
