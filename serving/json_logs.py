"""Log records as JSON lines: one object per line with the time, level and logger, then the
record's own fields (the service's access log, the command line's steps).

A record carries its fields in ``extra={"fields": {...}}``; its message is then built only when a
handler other than :class:`JsonLines` asks for it (:class:`JsonText`). Any other record (a
library's warning) becomes ``{"event": "log", "message": ...}``. :func:`json_line` makes the same
line from the fields alone, without a record (the access log's hot path).
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

#: ``json.dumps(value, ensure_ascii=False, default=str)`` with its encoder made once.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode
_HEAD_FIELDS = frozenset({"time", "level", "logger"})
#: The last whole second a line was stamped with, and its text up to the seconds.
_SECOND: list[tuple[int, str]] = [(-1, "")]


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
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            return json_line(record.created, record.levelname, record.name, fields)
        line: dict[str, Any] = {"time": _time_text(record.created), "level": record.levelname,
                                "logger": record.name, "event": "log", "message": record.getMessage()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODE(line)


def json_line(created: float, level: str, logger: str, fields: dict[str, Any]) -> str:
    """The line :class:`JsonLines` writes for a record of ``fields`` logged at ``created`` (seconds
    since the epoch): ``{"time", "level", "logger", **fields}`` as ``json.dumps(...,
    ensure_ascii=False, default=str)`` writes it, built value by value for the common types."""
    parts = [f'{{"time": "{_time_text(created)}", "level": {_name(level)}, "logger": {_name(logger)}']
    for key, value in fields.items():
        if type(key) is not str or key in _HEAD_FIELDS:
            return _ENCODE({"time": _time_text(created), "level": level, "logger": logger, **fields})
        parts.append(f"{encode_basestring(key)}: {_value(value)}")
    return ", ".join(parts) + "}"


def _value(value: Any) -> str:
    """``value`` as JSON (what ``_ENCODE`` gives, faster for plain strings, ints and finite floats)."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return _ENCODE(value)


@lru_cache(maxsize=512)
def _name(text: str) -> str:
    """A level, logger or other often repeated string as JSON."""
    return _ENCODE(text)


def _time_text(created: float) -> str:
    """``datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")``, with the text up
    to the seconds made once per second (microseconds rounded half to even, as ``datetime`` does)."""
    if not created >= 0:
        return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    fraction, whole = math.modf(created)
    micro, second = round(fraction * 1e6), int(whole)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    last, head = _SECOND[0]
    if last != second:
        head = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _SECOND[0] = (second, head)
    return f"{head}.{micro // 1000:03d}+00:00"
