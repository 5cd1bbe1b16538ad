"""Background work: an income letter's PDF is drawn outside the request."""

from __future__ import annotations

from django_tasks import task

from income.documents import letter_render


@task()
def render_income_letter(letter_id: int) -> None:
    letter_render(letter_id=letter_id)
