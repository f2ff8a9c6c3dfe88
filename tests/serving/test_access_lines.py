"""The service's access lines are written straight from their fields (no log record) when the
logger goes only to the service's own handler: the same text as through ``logging``, with no
token, id or query value in it; any other logging set-up still gets records."""

from __future__ import annotations

import io
import json
import logging
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from serving.api.access_log import LOGGER, AccessLines, log_to_stderr
from serving.json_logs import JsonLines, json_line


def _as_before(created: float, level: str, logger: str, fields: dict) -> str:
    """The line as ``JsonLines`` made it with ``json.dumps`` of the whole record."""
    line = {"time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"), "level": level,
            "logger": logger}
    line.update(fields)
    return json.dumps(line, ensure_ascii=False, default=str)


ACCESS = {"event": "request", "request_id": "5f0c1e2a9b7d4c31", "method": "GET",
          "route": "/v1/accounts/{account_id}/suggestions", "status": 200, "duration_ms": 1.84, "role": "rep"}


@pytest.mark.parametrize("fields", [
    ACCESS,
    {**ACCESS, "duration_ms": 0.1 + 0.2, "status": 404, "role": "-"},
    {"event": "step", "message": 'quote " backslash \\ newline \n tab \t nul \x00 é 日本 \u2028'},
    {"event": "x", "flag": True, "none": None, "big": 10**30, "nan": math.nan, "inf": -math.inf,
     "list": [1, "a", {"b": 2.5}], "nested": {"k": [None]}, "decimal": Decimal("1.10"),
     "when": datetime(2026, 7, 1, tzinfo=UTC), "neg": -0.0, "tiny": 5e-324},
    {"time": "given", "event": "overrides the head"},
    {1: "int key", "event": "x"},
    {},
])
@pytest.mark.parametrize("created", [1782900723.4185, 1782900723.9999995, 1782900723.0004995, 1782900723.0,
                                     1782900723.9994999, 0.0, 1.25e9 + 0.0015])
def test_json_line_is_the_line_logging_made(fields: dict, created: float) -> None:
    assert json_line(created, "INFO", "symbiose.access", fields) == _as_before(created, "INFO", "symbiose.access",
                                                                               fields)


def test_time_text_follows_datetime_over_many_instants() -> None:
    import random

    rng = random.Random(7)
    for _ in range(20_000):
        created = rng.uniform(1.6e9, 2.0e9)
        if rng.random() < 0.3:
            created = math.floor(created) + rng.choice([0.9999995, 0.99949999, 0.0005, 0.0004995, 0.5])
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert json_line(created, "INFO", "l", {})[len('{"time": "'):][:len(expected)] == expected, created


def test_records_still_get_the_same_line() -> None:
    record = logging.LogRecord("symbiose.access", logging.INFO, __file__, 1, "%s", ("x",), None)
    record.fields = ACCESS
    assert JsonLines().format(record) == _as_before(record.created, "INFO", "symbiose.access", ACCESS)
    plain = logging.LogRecord("lib", logging.WARNING, __file__, 1, "a %s", ("é",), None)
    assert json.loads(JsonLines().format(plain))["message"] == "a é"


@contextmanager
def service_stderr() -> Iterator[io.StringIO]:
    """Standard error as the access log sees it when the service set it up (``log_to_stderr``),
    alone (pytest attaches its capture to non-propagating loggers for each test's call); the
    logger's set-up is put back after."""
    saved = (LOGGER.handlers[:], LOGGER.level, LOGGER.propagate, sys.stderr)
    stream = io.StringIO()
    sys.stderr = stream
    LOGGER.handlers.clear()
    try:
        log_to_stderr()
        yield stream
    finally:
        LOGGER.handlers[:], LOGGER.level, LOGGER.propagate, sys.stderr = saved


@pytest.fixture()
def access_records() -> Iterator[list[logging.LogRecord]]:
    """Every log record made for the access logger while the test runs."""
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if record.name == LOGGER.name:
            made.append(record)
        return record

    logging.setLogRecordFactory(counting)
    try:
        yield made
    finally:
        logging.setLogRecordFactory(factory)


def test_service_lines_skip_log_records_and_hold_no_token_id_or_query(api, access_records) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[5])
    token = api.tokens["marketing"]
    url = f"/v1/accounts/{account}/suggestions?k=2&lang=de"
    with service_stderr() as stderr:
        answers = [api.client.get(url, headers=api.headers("marketing")) for _ in range(2)]  # route, fast path
        answers.append(api.client.get(f"/v1/accounts/{account}", headers={"Authorization": f"Bearer {token}x"}))
        answers.append(api.client.get(f"/v1/accounts/{account}/suggestions?k=zz",
                                      headers=api.headers("marketing") | {"X-Request-ID": f"{account} {token}"}))
        answers.append(api.client.get(f"/ui/accounts/{account}?token={token}", follow_redirects=False))
    assert [a.status_code for a in answers[:3]] == [200, 200, 401] and answers[3].status_code == 422
    text = stderr.getvalue()
    lines = text.splitlines()
    assert access_records == [], "the service's own handler gets no log records"
    assert len(lines) == len(answers), lines
    parsed = [json.loads(line) for line in lines]
    assert [p["request_id"] for p in parsed] == [a.headers["x-request-id"] for a in answers]
    assert [p["route"] for p in parsed[:2]] == ["/v1/accounts/{account_id}/suggestions"] * 2
    assert [p["role"] for p in parsed[:3]] == ["marketing", "marketing", "-"]
    for line, fields in zip(lines, parsed, strict=True):
        assert set(fields) == {"time", "level", "logger", "event", "request_id", "method", "route", "status",
                               "duration_ms", "role"}
        created = datetime.fromisoformat(fields["time"]).timestamp()
        assert line == _as_before(created, "INFO", "symbiose.access",
                                  {k: v for k, v in fields.items() if k not in ("time", "level", "logger")})
    for secret in (account, token, token[:12], "k=2", "lang=de", "zz", "token="):
        assert secret not in text, secret


def test_a_handler_of_ones_own_still_gets_records(api, access_records) -> None:
    seen: list[logging.LogRecord] = []
    own = logging.Handler()
    own.emit = seen.append  # type: ignore[method-assign]
    with service_stderr() as stderr:
        LOGGER.addHandler(own)
        api.client.get("/health")
    assert len(seen) == 1 and seen[0].fields["route"] == "/health"
    assert json.loads(stderr.getvalue())["route"] == "/health", "the service's handler formats the record"
    assert access_records == seen


def test_a_failed_write_is_reported_as_logging_reports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    reported: list[logging.LogRecord] = []
    handler = AccessLines(Broken())
    monkeypatch.setattr(handler, "handleError", reported.append)
    handler.write_fields(ACCESS)
    assert len(reported) == 1 and '"route": "/v1/accounts/{account_id}/suggestions"' in reported[0].getMessage()

