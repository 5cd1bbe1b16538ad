from tests.access_tables import COORDINATION, STAFF_ONLY

PAGES = {
    "engagements:dashboard": (None, STAFF_ONLY),
    "engagements:contributions": (None, STAFF_ONLY),
    "engagements:log": (None, COORDINATION),
    "engagements:review": (None, COORDINATION),
    "engagements:disputes": (None, COORDINATION),
    "engagements:import": (None, COORDINATION),
    "consultants:list": (None, STAFF_ONLY),
}
