"""Request size limits: oversized bodies and headers are refused before authentication and
parsing (413 / 431), announced or streamed; bodies within the limit work as before."""

from __future__ import annotations

import asyncio
import json

import pytest

from serving.settings import Settings

LIMIT = Settings().max_body_bytes


def _big_feedback(size: int) -> bytes:
    return json.dumps({"suggestion_id": "0" * 16, "status": "done", "note": "x" * size}).encode()


def test_default_limit_is_about_one_mebibyte() -> None:
    assert 512 * 1024 <= LIMIT <= 4 * 1024 * 1024


def test_announced_body_above_the_limit_is_refused_before_auth(api) -> None:
    body = _big_feedback(LIMIT + 10)
    for headers in ({}, api.headers("admin")):
        answer = api.client.post("/v1/feedback", content=body,
                                 headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code == 413, answer.text
        assert "SYMBIOSE_MAX_BODY_BYTES" in answer.json()["detail"]
        assert answer.headers["connection"] == "close"


def test_streamed_body_above_the_limit_is_refused(api) -> None:
    chunk = b"x" * 65536

    def chunks():
        yield b'{"suggestion_id": "0000000000000000", "status": "done", "note": "'
        for _ in range(LIMIT // len(chunk) + 2):
            yield chunk
        yield b'"}'

    answer = api.client.post("/v1/feedback", content=chunks(),
                             headers={**api.headers("admin"), "Content-Type": "application/json"})
    assert answer.status_code == 413, answer.text


def test_body_within_the_limit_still_reaches_validation(api) -> None:
    answer = api.client.post("/v1/feedback", content=_big_feedback(2000),
                             headers={**api.headers("admin"), "Content-Type": "application/json"})
    assert answer.status_code == 422  # the note is too long for the schema: parsed, not refused


def test_oversized_headers_answer_431(api) -> None:
    answer = api.client.get("/health", headers={"X-Filler": "y" * (Settings().max_header_bytes + 1)})
    assert answer.status_code == 431
    assert api.client.get("/health", headers={"X-Filler": "y" * 1000}).status_code == 200


def test_a_streamed_body_is_not_read_past_the_limit() -> None:
    """The app stops receiving as soon as the limit is passed (an endless body ends early)."""
    from serving.api.limits import RequestLimits

    pulled = 0

    async def endless() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"z" * 1000, "more_body": True}

    async def reader(scope, receive, send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    app = RequestLimits(reader, max_body_bytes=10_000, max_header_bytes=10_000)
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"transfer-encoding", b"chunked")]}
    asyncio.run(app(scope, endless, send))
    assert pulled == 11
    assert sent[0]["status"] == 413 and b"read it all" not in sent[-1]["body"]


@pytest.mark.parametrize("size", [2 * LIMIT])
def test_limit_is_a_setting(tmp_path, serving_snapshot, size: int) -> None:
    from tests.serving.conftest import fresh_database, running_api

    with fresh_database("sqlite", tmp_path) as url, \
            running_api(url, serving_snapshot, max_body_bytes=size + 100) as api:
        answer = api.client.post("/v1/feedback", content=_big_feedback(size),
                                 headers={**api.headers("admin"), "Content-Type": "application/json"})
        assert answer.status_code == 422  # parsed (note too long), not refused
