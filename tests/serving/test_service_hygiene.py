"""Security headers on every answer (JSON API and docs too), owner-only SQLite files, and one
access log line per request without tokens or personal data."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

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
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture()
def access_lines():
    handler = _Lines()
    level = LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)


def test_one_access_line_per_request_without_ids_or_tokens(api, access_lines) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[3])
    token = api.tokens["rep"]
    answer = api.client.get(f"/v1/accounts/{account}/suggestions?k=2", headers=api.headers("manager"))
    denied = api.client.get(f"/v1/accounts/{account}", headers={"Authorization": f"Bearer {token}x"})
    given = api.client.get("/health", headers={"X-Request-ID": "trace-42"})
    assert len(access_lines) == 3, access_lines
    first, second, third = access_lines
    assert first.startswith("GET /v1/accounts/{account_id}/suggestions ")
    assert f" {answer.status_code} " in first and "role=manager" in first
    assert f"request_id={answer.headers['x-request-id']}" in first
    assert second.startswith("GET /v1/accounts/{account_id} 401 ") and "role=-" in second
    assert third.startswith("GET /health 200 ") and third.endswith("request_id=trace-42")
    assert given.headers["x-request-id"] == "trace-42"
    for line in access_lines:
        assert account not in line and token not in line and "k=2" not in line
    ids = {answer.headers["x-request-id"], denied.headers["x-request-id"]}
    assert len(ids) == 2


def test_unsafe_request_ids_are_replaced(api, access_lines) -> None:
    answer = api.client.get("/health", headers={"X-Request-ID": "a b;c" + "x" * 100})
    assert answer.headers["x-request-id"] != "a b;c" + "x" * 100
    assert len(answer.headers["x-request-id"]) == 16
    assert access_lines[-1].endswith(f"request_id={answer.headers['x-request-id']}")


def test_pages_log_the_signed_in_role(api, access_lines) -> None:
    from tests.serving.web.conftest import sign_in

    client = sign_in(api, "marketing")
    client.get("/ui/scoreboard")
    assert access_lines[-1].startswith("GET /ui/scoreboard 200 ") and "role=marketing" in access_lines[-1]
