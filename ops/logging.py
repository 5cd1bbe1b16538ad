"""Log records carry the request id (and the task id inside a task).

``RequestIdFilter`` sits on the console handler (config/settings.py ``LOGGING``), so
every line, Honora's and the libraries', gets ``request_id`` and ``task_id``: "-"
when there is none. With ``LOG_FORMAT=json`` each line is one JSON object
(python-json-logger).
"""

from __future__ import annotations

import logging

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from core.request_id import current_request_id, current_task_id

JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s"
# Django attaches the request object to some records; its repr has the query string.
JSON_LEFT_OUT = ("request",)
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        record.task_id = current_task_id() or "-"
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (UTC), level, logger, message, ids, extras."""
    return JsonFormatter(
        JSON_FIELDS,
        timestamp="time",  # ISO 8601, UTC
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, *JSON_LEFT_OUT],
    )


def plain_formatter() -> logging.Formatter:
    return logging.Formatter(PLAIN_FORMAT)


def logging_config(*, log_format: str, level: str) -> dict:
    """The ``LOGGING`` dict for ``json`` or ``plain`` lines."""
    formatter = {"()": f"ops.logging.{log_format}_formatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "ops.logging.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
            "stripe": {"level": "WARNING"},
        },
    }
