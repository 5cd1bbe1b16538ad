"""Portal pages: a consultant sees their own; staff have no portal (404)."""

from tests.access_tables import PORTAL, PORTAL_OWNED
from tests.expenses import records as expense_records
from tests.income import records as income_records
from tests.meetings.records import invitation_kwargs

PAGES = {
    "portal:home": (None, PORTAL),
    "portal:contributions": (None, PORTAL),
    "portal:contribution": (
        lambda r: {"public_id": r["contribution"].public_id},
        PORTAL_OWNED,
    ),
    "portal:log": (None, PORTAL),
    "portal:payments": (None, PORTAL),
    # POST only: a GET is refused, whoever asks.
    "portal:stripe_onboarding": (None, {**PORTAL, "consultant": 405, "outsider": 405}),
    "portal:receipts": (None, PORTAL),
    # Downloads of the owner's documents: anyone else's is a 404.
    "portal:receipt_pdf": (lambda r: {"public_id": r["receipt"].public_id}, PORTAL_OWNED),
    "portal:statement_pdf": (lambda r: {"public_id": r["statement"].public_id}, PORTAL_OWNED),
    "portal:statement_prepare": (None, {**PORTAL, "consultant": 405, "outsider": 405}),
    # Where the consultant's own statements stand (polled by the receipts page); each
    # sees only their own years, and ?year= for a year not theirs is a 404.
    "portal:statement_status": (None, PORTAL),
    "portal:preferences": (None, PORTAL),
    "portal:agreements": (None, PORTAL),
    "portal:agreement": (lambda r: {"public_id": r["agreement"].public_id}, PORTAL_OWNED),
    "portal:agreement_pdf": (lambda r: {"public_id": r["agreement"].public_id}, PORTAL_OWNED),
    # Claims and advances (expenses/): the owner's own; another's advance is a 404.
    "portal:reimbursements": (None, PORTAL),
    "portal:reimbursement_new": (None, PORTAL),
    "portal:advance": (
        lambda r: {"public_id": expense_records.advance(r).public_id},
        PORTAL_OWNED,
    ),
    # Income, pay plans and income letters (income/): the owner's own; another's is a 404.
    "portal:income": (None, PORTAL),
    "portal:income_plan": (None, PORTAL),
    "portal:income_plan_cancel": (
        lambda r: {"public_id": income_records.plan(r).public_id},
        PORTAL_OWNED,
    ),
    "portal:income_letter": (None, PORTAL),
    "portal:income_letter_done": (
        lambda r: {"public_id": income_records.letter(r).public_id},
        PORTAL_OWNED,
    ),
    "portal:income_letter_pdf": (
        lambda r: {"public_id": income_records.letter(r).public_id},
        PORTAL_OWNED,
    ),
    "portal:consents": (None, PORTAL),
    "portal:consent": (lambda r: {"public_id": r["consent_request"].public_id}, PORTAL_OWNED),
    "portal:consent_revoke": (
        lambda r: {"public_id": r["consent_request"].public_id},
        PORTAL_OWNED,
    ),
    # Sessions and Delphi rounds: the owner's invitations only (tests/meetings/).
    "portal:sessions": (None, PORTAL),
    "portal:session_decline": (invitation_kwargs, PORTAL_OWNED),
    "portal:session_calendar": (invitation_kwargs, PORTAL_OWNED),
}
