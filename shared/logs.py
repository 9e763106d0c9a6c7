"""JSON-lines logging with the correlation id of the request or message being handled.

The formatter is python-json-logger's; what stays here is Jalin's shape of a line (``ts``,
``level``, ``logger``, ``msg``, ``correlation_id``, ``service`` and any ``extra=`` fields).
"""
from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


class _Context(logging.Filter):
    """Adds the correlation id in effect (and the service's name) to every record."""

    def __init__(self, service: str | None):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id_var.get()
        if self.service:
            record.service = self.service
        return True


def json_formatter() -> JsonFormatter:
    """One JSON object per line: ts, level, logger, msg, correlation_id, then the record's extras."""
    return JsonFormatter(["levelname", "name", "message"], timestamp="ts", json_ensure_ascii=False,
                         rename_fields={"levelname": "level", "name": "logger", "message": "msg",
                                        "exc_info": "exc"})


def configure_logging(level: str = "INFO", service: str | None = None) -> None:
    """Route the root logger to stderr as JSON lines (idempotent; the last ``service`` named wins)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h.formatter, JsonFormatter)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
        root.handlers = [handler]
    handler.filters = [f for f in handler.filters if not isinstance(f, _Context)]
    handler.addFilter(_Context(service))
    root.setLevel(level.upper())
    for noisy in ("kafka", "pymongo", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
