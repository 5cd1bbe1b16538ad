from tests.access_tables import COORDINATION, LOGIN, MISSING, OK, REDIRECT, STAFF_ONLY
from tests.expenses import records as expense_records
from tests.meetings.records import session_kwargs
from tests.transparency import records as transparency_records

# /studies/ sends staff straight to the dashboard of the only study.
STAFF_REDIRECT = {**STAFF_ONLY, "coordinator": REDIRECT, "finance": REDIRECT, "admin": REDIRECT}
# Actions that only take a POST: a GET by someone allowed is 405, never a page.
NOT_ALLOWED_METHOD = 405
COORDINATION_POST = {
    **COORDINATION,
    "coordinator": NOT_ALLOWED_METHOD,
    "admin": NOT_ALLOWED_METHOD,
}
# A receipt: staff, and the consultant the entry belongs to; another consultant
# cannot learn that it exists.
RECEIPT = {
    "anonymous": LOGIN,
    "consultant": OK,
    "outsider": MISSING,
    "coordinator": OK,
    "finance": OK,
    "admin": OK,
}


def _contribution(r):
    return {"public_id": r["contribution"].public_id}


PAGES = {
    "engagements:dashboard": (None, STAFF_REDIRECT),
    "engagements:study_dashboard": (lambda r: {"public_id": r["study"].public_id}, STAFF_ONLY),
    "engagements:study_engagements": (lambda r: {"public_id": r["study"].public_id}, STAFF_ONLY),
    # Coordinators see the calendar; finance and admin also get the form (tests/engagements).
    "engagements:study_pay_calendar": (
        lambda r: {"public_id": r["study"].public_id},
        STAFF_ONLY,
    ),
    "engagements:engagement_create": (None, COORDINATION),
    "engagements:engagement_detail": (
        lambda r: {"public_id": r["engagement"].public_id},
        STAFF_ONLY,
    ),
    "engagements:contributions": (None, STAFF_ONLY),
    "engagements:contribution_create": (None, COORDINATION),
    "engagements:contribution_detail": (_contribution, STAFF_ONLY),
    "engagements:contribution_edit": (_contribution, COORDINATION),
    "engagements:contribution_submit": (_contribution, COORDINATION_POST),
    "engagements:contribution_approve": (_contribution, COORDINATION_POST),
    "engagements:contribution_reject": (_contribution, COORDINATION_POST),
    "engagements:contribution_adjust": (_contribution, COORDINATION_POST),
    "engagements:contribution_attachment": (
        lambda r: {"public_id": r["receipt_contribution"].public_id},
        RECEIPT,
    ),
    "engagements:log": (None, COORDINATION),
    "engagements:week": (lambda r: {"public_id": r["consultant"].public_id}, COORDINATION),
    "engagements:review": (None, COORDINATION),
    "engagements:disputes": (None, COORDINATION),
    "engagements:dispute_resolve": (lambda r: {"public_id": r["dispute"].public_id}, COORDINATION),
    "engagements:import": (None, COORDINATION),
    "engagements:import_run": (
        lambda r: {"public_id": r["import_run"].public_id},
        {**COORDINATION, "admin": MISSING},
    ),
    "consultants:list": (None, STAFF_ONLY),
    "consultants:detail": (lambda r: {"public_id": r["consultant"].public_id}, STAFF_ONLY),
    "agreements:engagement": (lambda r: {"public_id": r["engagement"].public_id}, STAFF_ONLY),
    "agreements:issue": (lambda r: {"public_id": r["engagement"].public_id}, COORDINATION_POST),
    "agreements:paper": (lambda r: {"public_id": r["agreement"].public_id}, COORDINATION_POST),
    # Advances (expenses/): staff read them; coordinators grant; files like a receipt.
    "expenses:advances": (None, STAFF_ONLY),
    "expenses:advance": (
        lambda r: {"public_id": expense_records.advance(r).public_id},
        STAFF_ONLY,
    ),
    "expenses:advance_grant": (lambda r: {"public_id": r["study"].public_id}, COORDINATION),
    "expenses:claim_file": (
        lambda r: {"public_id": expense_records.claim_file(r).public_id},
        RECEIPT,
    ),
    "expenses:advance_receipt_file": (
        lambda r: {"public_id": expense_records.advance_receipt(r).public_id},
        RECEIPT,
    ),
    "consents:ledger": (lambda r: {"public_id": r["study"].public_id}, COORDINATION),
    "consents:request_create": (lambda r: {"public_id": r["study"].public_id}, COORDINATION),
    "consents:detail": (lambda r: {"public_id": r["consent_request"].public_id}, COORDINATION),
    "consents:withdraw": (
        lambda r: {"public_id": r["consent_request"].public_id},
        COORDINATION_POST,
    ),
    # Sessions and Delphi rounds (tests/meetings/): coordinators and admins.
    "meetings:list": (None, COORDINATION),
    "meetings:schedule": (None, COORDINATION),
    "meetings:detail": (session_kwargs, COORDINATION),
    "meetings:invite": (session_kwargs, COORDINATION_POST),
    "meetings:attendance": (session_kwargs, COORDINATION_POST),
    "meetings:cancel": (session_kwargs, COORDINATION),
    "meetings:calendar": (session_kwargs, COORDINATION),
    # The transparency report (tests/transparency/): coordinators publish; anyone reads.
    "transparency:study": (lambda r: {"public_id": r["study"].public_id}, COORDINATION),
    "transparency:index": (None, dict.fromkeys(COORDINATION, OK)),
    "transparency:report": (
        lambda r: {"public_id": transparency_records.publication(r).public_id},
        dict.fromkeys(COORDINATION, OK),
    ),
    "transparency:report_json": (
        lambda r: {"public_id": transparency_records.publication(r).public_id},
        dict.fromkeys(COORDINATION, OK),
    ),
    "transparency:report_csv": (
        lambda r: {"public_id": transparency_records.publication(r).public_id},
        dict.fromkeys(COORDINATION, OK),
    ),
}
