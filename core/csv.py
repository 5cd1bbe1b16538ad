"""CSV downloads that every app's list pages share.

``csv_response`` streams a header and rows (any iterable of lists: the app
builds them from its own querysets) and passes every cell through ``csv_safe``,
the one formula-injection guard: a text cell a spreadsheet would run as a
formula gets a leading quote. Core knows no app; callers pass the columns in.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading quote.

    Numbers, dates and decimals are written as they are: "-1.50" from a
    Decimal is a number, never a formula.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    *, header: list[str], rows: Iterable[list], filename: str
) -> StreamingHttpResponse:
    """Stream a CSV download; ``filename`` must say nothing about a person."""
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        # A byte-order mark so spreadsheet programs read the file as UTF-8.
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_safe(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def dated_filename(stem: str) -> str:
    """``stem-YYYY-MM-DD.csv``, today in the site's time zone."""
    return f"{stem}-{timezone.localdate().isoformat()}.csv"


def wants_csv(request: HttpRequest) -> bool:
    """Whether a list page was asked for its CSV download (``?format=csv``)."""
    return request.GET.get("format") == "csv"
