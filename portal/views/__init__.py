"""The consultant's own portal: everything that concerns them, nothing else.

Every view works on ``request.consultant`` (set by ``consultant_required``) and
reads through selectors scoped to that one consultant, so another person's
record is a 404. Writes go through the services; their errors go back on the
form field they name, with the status they carry (400, 403 or 409). Pages are
never cached, so that after a quick exit, or on a shared device, nothing can
be shown again from the browser's cache.

One module per part of the portal: ``home``, ``contributions`` (the list, one
entry and disputing it), ``log_hours``, ``preferences``, ``payments`` (payments
and direct-deposit setup) and ``documents`` (receipts and statements).
"""
