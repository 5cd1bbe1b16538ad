"""Domain errors that services raise and views turn into HTTP answers.

A service never returns an HTTP response; it raises one of these, and the pages
and the API map them the same way: 400 for bad input, 403 for a rule about who
may act, 409 for a state that no longer allows the action.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationFailed(DomainError):
    """The input is not acceptable; nothing was changed."""

    code = "invalid"
    status = 400


class NotAllowed(DomainError):
    """The actor may not take this action (separation of duties, role)."""

    code = "not_allowed"
    status = 403


class StateConflict(DomainError):
    """The record is no longer in a state that allows the action."""

    code = "conflict"
    status = 409
