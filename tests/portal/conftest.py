"""Helpers for the portal tests: entries in every state, and reading rendered tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from engagements.models import Contribution
from engagements.services.contributions import contribution_create
from engagements.services.reviews import contribution_approve, contribution_reject
from tests.test_url_access import people  # noqa: F401 - the standing records, for test_safety


@pytest.fixture
def consultant_client(client, consultant):
    client.force_login(consultant.user)
    return client


@pytest.fixture
def make_entry(coordinator, coordinator2):
    """Create an entry in a given state through the services (paid: by a direct update,
    until the payments work lands)."""

    def make(
        engagement,
        *,
        status: str,
        quantity="2",
        on: date | None = None,
        kind="hours",
        activity="work",
        description="",
    ) -> Contribution:
        on = on or timezone.localdate()
        if status == "submitted_by_consultant":
            return contribution_create(
                engagement=engagement,
                by=engagement.consultant.user,
                kind=kind,
                activity=activity,
                date=on,
                quantity=Decimal(quantity),
                description=description,
            )
        c = contribution_create(
            engagement=engagement,
            by=coordinator,
            kind=kind,
            activity=activity,
            date=on,
            quantity=Decimal(quantity),
            description=description,
            submit=status != "draft",
        )
        if status in ("draft", "submitted"):
            return c
        if status == "rejected":
            return contribution_reject(contribution=c, by=coordinator2, reason="Wrong day")
        c = contribution_approve(contribution=c, by=coordinator2)
        if status == "paid":
            Contribution.objects.filter(pk=c.pk).update(status=Contribution.Status.PAID)
            c.refresh_from_db()
        return c

    return make


class _Tables(HTMLParser):
    """Every table row of a page as a list of cell texts, keyed by the table's caption."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption = None
        self._in_caption = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._count = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._count += 1
            self._caption = f"table {self._count}"
            self.tables[self._caption] = []
        elif tag == "caption":
            self._in_caption = True
            self._caption_text = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
            rows = self.tables.pop(self._caption)
            self._caption = " ".join("".join(self._caption_text).split())
            self.tables[self._caption] = rows
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._caption].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_caption:
            self._caption_text.append(data)
        elif self._cell is not None:
            self._cell.append(data)


def tables(response) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def row(table: list[list[str]], first_cell: str) -> list[str]:
    for cells in table:
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in {table!r}")


def text(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    import re

    body = re.sub(
        r"<script.*?</script>|<style.*?</style>", " ", response.content.decode(), flags=re.S
    )
    body = re.sub(r"<[^>]+>", " ", body)
    from html import unescape

    return " ".join(unescape(body).split())
