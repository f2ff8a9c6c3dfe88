"""Log records as JSON lines: one object per line with the time, level and logger, then the
record's own fields (the service's access log, the command line's steps).

A record carries its fields in ``extra={"fields": {...}}``; its message is then built only when a
handler other than :class:`JsonLines` asks for it (:class:`JsonText`). Any other record (a
library's warning) becomes ``{"event": "log", "message": ...}``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class JsonText:
    """``fields`` as JSON text, made only when a message is formatted (``logging``'s lazy args)."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return json.dumps(self.fields, ensure_ascii=False, default=str)


def log_fields(logger: logging.Logger, fields: dict[str, Any], level: int = logging.INFO) -> None:
    """Log one record made of ``fields`` (see the module text)."""
    logger.log(level, "%s", JsonText(fields), extra={"fields": fields})


class JsonLines(logging.Formatter):
    """Formats each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            line.update(event="log", message=record.getMessage())
            if record.exc_info:
                line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
