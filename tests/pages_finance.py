from tests.access_tables import FINANCE_ONLY, MISSING, OK

# Actions that only take a POST: finance gets 405 for a GET, everyone else what
# the page itself would give them.
FINANCE_POST = {**FINANCE_ONLY, "finance": 405}


def _batch(r):
    return {"public_id": r["batch"].public_id}


def _payment(r):
    return {"public_id": r["payment"].public_id}


def _consultant(r):
    return {"public_id": r["consultant"].public_id}


def _receipt(r):
    return {"public_id": r["receipt"].public_id}


def _statement(r):
    return {"public_id": r["statement"].public_id}


def _year(r):
    return {"year": r["receipt"].year}


# Coordinators do not see receipts, statements or tax data: their role does not allow it.
# The year picker sends finance on to the year's page.
FINANCE_REDIRECT = {**FINANCE_ONLY, "finance": 302}


PAGES = {
    "payments:home": (None, FINANCE_ONLY),
    "payments:batch_build": (None, FINANCE_ONLY),
    "payments:batch": (_batch, FINANCE_ONLY),
    "payments:batch_progress": (_batch, FINANCE_ONLY),
    "payments:batch_submit": (_batch, FINANCE_POST),
    "payments:batch_approve": (_batch, FINANCE_POST),
    "payments:batch_execute": (_batch, FINANCE_POST),
    "payments:batch_cancel": (_batch, FINANCE_POST),
    "payments:payment": (_payment, FINANCE_ONLY),
    "payments:payment_record": (_payment, FINANCE_POST),
    "payments:payment_void": (_payment, FINANCE_POST),
    "payments:payment_release": (_payment, FINANCE_POST),
    "payments:payment_cancel": (_payment, FINANCE_POST),
    "payments:payment_check_stripe": (_payment, FINANCE_POST),
    "payments:payment_mark_returned": (_payment, FINANCE_POST),
    "payments:payment_retry": (_payment, FINANCE_POST),
    # The paid check's scanned proof: a download for finance only.
    "payments:payment_proof": (_payment, FINANCE_ONLY),
    "payments:payment_taxform": (_payment, FINANCE_POST),
    # The consultant's finance page: tax-form standing, payments and holds.
    "payments:consultant": (_consultant, FINANCE_ONLY),
    "payments:consultant_taxform": (_consultant, FINANCE_POST),
    # The signed tax form: finance only; this consultant has none on file, so 404.
    "payments:consultant_taxform_file": (_consultant, {**FINANCE_ONLY, "finance": MISSING}),
    "payments:stripe_status": (None, FINANCE_ONLY),
    "payments:receipts": (None, FINANCE_ONLY),
    "payments:receipt": (_receipt, FINANCE_ONLY),
    "payments:receipt_pdf": (_receipt, FINANCE_ONLY),
    "payments:receipt_replace": (_receipt, FINANCE_POST),
    "payments:statements": (_year, FINANCE_ONLY),
    "payments:statements_generate": (_year, FINANCE_POST),
    "payments:statement_pdf": (_statement, FINANCE_ONLY),
    "payments:tax_home": (None, FINANCE_REDIRECT),
    "payments:tax": (_year, FINANCE_ONLY),
    "payments:tax_export": (_year, FINANCE_POST),
    # The public receipt check (at /verify/<code>/): anyone, signed in or not, for a real code.
    "receipt_verify": (
        lambda r: {"code": r["receipt"].verification_code},
        dict.fromkeys(FINANCE_ONLY, OK),
    ),
}
