"""Small helpers that every app's forms and pages share.

The one way a page shows a service's refusal: ``show_error(form, exc)`` puts the
message on the field the error names (``DomainError.field``), or above the form
when the field is not on it, and returns the status the page answers with
(400, 403 or 409). Errors that escape a view are shown by
``core.middleware.DomainErrorMiddleware``.
"""

from __future__ import annotations

from typing import Any

from django import forms

from core.errors import DomainError


def show_error(form: forms.Form, exc: DomainError, *, fields: dict[str, str] | None = None) -> int:
    """Show ``exc`` on the form field it names (renamed through ``fields``), else above the form."""
    name = (fields or {}).get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)
    return exc.status


class PhaseChoiceField(forms.ModelChoiceField[Any]):
    """A study phase, labelled with its study: "National study · Design"."""

    def label_from_instance(self, phase: Any) -> str:
        return f"{phase.study.name} · {phase.name}"
