"""Sessions for the page tables (tests/pages_staff.py, pages_portal.py): built on demand
from the standing records of tests/test_url_access.py, once per test."""

from __future__ import annotations

from tests.meetings.support import invited, meeting


def session_records(r: dict) -> dict:
    if "session" not in r:
        engagement = r["engagement"]
        from tests.factories import UserFactory

        coordinator = UserFactory(roles=["coordinator"])
        r["session"] = meeting(engagement.phase, coordinator)
        r["invitation"] = invited(r["session"], engagement, coordinator)
    return r


def session_kwargs(r: dict) -> dict:
    return {"public_id": session_records(r)["session"].public_id}


def invitation_kwargs(r: dict) -> dict:
    return {"public_id": session_records(r)["invitation"].public_id}
