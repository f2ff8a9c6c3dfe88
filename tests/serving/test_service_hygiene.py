"""Security headers on every answer (JSON API and docs too), owner-only SQLite files, one JSON
access log line per request with its request id, and no token, note, reason text or personal id in
any log line."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from pathlib import Path

import pytest

from serving.json_logs import JsonLines

LOGGER = logging.getLogger("symbiose.access")


@pytest.mark.parametrize("path", ["/health", "/v1/model", "/v1/feedback", "/openapi.json", "/docs", "/redoc",
                                  "/v1/no-such-path", "/ui/login"])
def test_every_answer_has_security_headers(api, path: str) -> None:
    answer = api.client.get(path, headers=api.headers("admin"))
    headers = answer.headers
    assert headers["x-content-type-options"] == "nosniff", path
    assert headers["x-frame-options"] == "DENY", path
    assert headers["referrer-policy"] == "same-origin", path
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'", path
    if path.startswith("/v1") or path in ("/health", "/openapi.json"):
        assert set(policy) == {"default-src", "frame-ancestors"}, path


def test_docs_policy_lets_the_viewer_load(api) -> None:
    answer = api.client.get("/docs")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "connect-src 'self'" in policy
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist" in answer.text


def test_sqlite_files_are_owner_only(tmp_path: Path, serving_snapshot) -> None:
    from tests.serving.conftest import running_api

    old = os.umask(0o022)
    try:
        url = f"sqlite:///{tmp_path / 'private' / 'symbiose.db'}"
        with running_api(url, serving_snapshot) as api:
            account = str(api.runtime.snapshot.suggestions.accounts[0])
            assert api.client.get(f"/v1/accounts/{account}/suggestions",
                                  headers=api.headers("admin")).status_code == 200
            files = sorted((tmp_path / "private").glob("symbiose.db*"))
            assert {f.name for f in files} >= {"symbiose.db", "symbiose.db-wal", "symbiose.db-shm"}
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, (file.name, oct(file.stat().st_mode))
    finally:
        os.umask(old)


class _Lines(logging.Handler):
    """Every record, formatted as the service writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonLines())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture()
def access_lines():
    """The access log's lines while the test runs."""
    handler = _Lines()
    level = LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)


def parsed(lines: list[str]) -> list[dict]:
    """Each line as the JSON object it must be."""
    return [json.loads(line) for line in lines]


class _ServiceLines(_Lines):
    """Every record but the test client's own (httpx logs each URL it requests)."""

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):
            super().emit(record)


@pytest.fixture()
def every_log_line():
    """Every log record of the service at INFO and above while the test runs, as JSON lines."""
    handler = _ServiceLines()
    root = logging.getLogger()
    level = root.level
    for logger in (root, LOGGER):
        logger.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        for logger in (root, LOGGER):
            logger.removeHandler(handler)
        root.setLevel(level)


def test_one_json_access_line_per_request_without_ids_or_tokens(api, access_lines) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[3])
    token = api.tokens["rep"]
    answer = api.client.get(f"/v1/accounts/{account}/suggestions?k=2", headers=api.headers("manager"))
    denied = api.client.get(f"/v1/accounts/{account}", headers={"Authorization": f"Bearer {token}x"})
    given = api.client.get("/health", headers={"X-Request-ID": "trace-42"})
    assert len(access_lines) == 3, access_lines
    first, second, third = parsed(access_lines)
    assert set(first) == {"time", "level", "logger", "event", "request_id", "method", "route", "status",
                          "duration_ms", "role"}
    assert first["event"] == "request" and first["logger"] == "symbiose.access"
    assert (first["method"], first["route"], first["status"], first["role"]) == (
        "GET", "/v1/accounts/{account_id}/suggestions", answer.status_code, "manager")
    assert first["request_id"] == answer.headers["x-request-id"]
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    assert (second["route"], second["status"], second["role"]) == ("/v1/accounts/{account_id}", 401, "-")
    assert (third["route"], third["status"], third["request_id"]) == ("/health", 200, "trace-42")
    assert given.headers["x-request-id"] == "trace-42"
    for line in access_lines:
        assert account not in line and token not in line and "k=2" not in line
    ids = {answer.headers["x-request-id"], denied.headers["x-request-id"]}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)


@pytest.mark.parametrize("given", ["a b;c", "x" * 65, "", "id\u00e9", "<script>"])
def test_unsafe_request_ids_are_replaced(api, access_lines, given: str) -> None:
    answer = api.client.get("/health", headers={"X-Request-ID": given.encode("utf-8")})
    assert answer.headers["x-request-id"] != given
    assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["x-request-id"])
    assert parsed(access_lines)[-1]["request_id"] == answer.headers["x-request-id"]


def test_a_request_id_is_returned_on_every_answer(api) -> None:
    for path in ("/health", "/v1/model", "/no-such-path", "/ui/login"):
        answer = api.client.get(path, headers={"X-Request-ID": "client:req-7.1_A"})
        assert answer.headers["x-request-id"] == "client:req-7.1_A", path


def test_pages_log_the_signed_in_role(api, access_lines) -> None:
    from tests.serving.web.conftest import sign_in

    client = sign_in(api, "marketing")
    client.get("/ui/scoreboard")
    last = parsed(access_lines)[-1]
    assert (last["route"], last["status"], last["role"]) == ("/ui/scoreboard", 200, "marketing")


def _without_generated_values(line: str) -> str:
    """A log line without the values the service makes up itself (random request ids, clock readings).

    They are random digits, so a short secret such as "0171" can turn up in them by chance.
    """
    try:
        record = json.loads(line)
    except ValueError:
        return line
    for key in ("request_id", "time", "duration_ms"):
        record.pop(key, None)
    return json.dumps(record)


def test_logs_hold_no_token_note_reason_text_or_personal_ids(api, every_log_line) -> None:
    """API and pages, with feedback that carries a note and a reason in the user's words."""
    from tests.serving.web.conftest import csrf_of, own_account, sign_in

    account = own_account(api, "rep")
    rep_id = api.scopes["rep"]["rep_id"]
    note, reason = "call Mrs Example on 0171 5550123", "they said the price is too high this quarter"
    got = api.client.get(f"/v1/reps/{rep_id}/suggestions?k=1", headers=api.headers("rep"))
    assert got.status_code == 200, got.text
    shown = api.client.get(f"/v1/accounts/{account}/suggestions?k=2", headers=api.headers("rep")).json()
    first, second = (s["suggestion_id"] for s in shown["suggestions"])
    posted = api.client.post("/v1/feedback", headers=api.headers("rep") | {"Idempotency-Key": "privacy-1"},
                             json={"suggestion_id": first, "status": "dismissed", "reason": reason, "note": note})
    assert posted.status_code == 201, posted.text
    refused = api.client.post("/v1/feedback", headers=api.headers("rep"),
                              json={"suggestion_id": "0123456789abcdef", "status": "done", "note": note})
    assert refused.status_code == 404
    client = sign_in(api, "rep")  # the sign-in form carries the token
    page = client.get(f"/ui/accounts/{account}")
    assert page.status_code == 200
    web_feedback = client.post("/ui/feedback", data={"suggestion_id": second, "action": "accepted",
                                                     "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert web_feedback.status_code == 303, web_feedback.text
    client.get(f"/ui/scoreboard?rep_id={rep_id}")

    requests = [json.loads(line) for line in every_log_line if '"event": "request"' in line]
    assert len(requests) >= 8, every_log_line
    assert {r["route"] for r in requests} >= {"/v1/reps/{rep_id}/suggestions", "/v1/feedback", "/ui/login",
                                              "/ui/accounts/{account_id}", "/ui/feedback", "/ui/scoreboard"}
    logged = "\n".join(_without_generated_values(line) for line in every_log_line)
    secrets = [*api.tokens.values(), note, reason, "Mrs Example", "0171", "price is too high", account, rep_id,
               first, second]
    for secret in secrets:
        assert secret not in logged, secret
    names = api.runtime.snapshot.directory.rep_names
    assert names.get(rep_id) is None or names[rep_id] not in logged
