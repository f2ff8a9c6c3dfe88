"""Request bodies with JSON that Python parses but nothing downstream can hold: NaN and infinite
numbers, unpaired surrogates, NUL and other control characters. Each answers 422 naming the
field, on SQLite and PostgreSQL, and nothing is stored."""

from __future__ import annotations

import pytest

from serving.store.tables import Feedback

JSON = {"Content-Type": "application/json"}


def _shown_suggestion(api, index: int) -> str:
    account = str(api.runtime.snapshot.suggestions.accounts[index])
    answer = api.client.get(f"/v1/accounts/{account}/suggestions?k=1", headers=api.headers("admin"))
    assert answer.status_code == 200, answer.text
    return answer.json()["suggestions"][0]["suggestion_id"]


def _fields(answer) -> list[str]:
    return [str(part) for err in answer.json()["detail"] for part in err["loc"]]


@pytest.mark.parametrize(("note", "index"), [
    ("NaN", 40), ("Infinity", 41), ('"bad \\udc80 note"', 42), ('"nul \\u0000 inside"', 43),
    ('"bell \\u0007"', 44), ('"lone high \\ud800 surrogate"', 45),
])
def test_feedback_note_that_cannot_be_stored_is_422(api, note: str, index: int) -> None:
    sid = _shown_suggestion(api, index)
    body = f'{{"suggestion_id": "{sid}", "status": "done", "note": {note}}}'.encode()
    answer = api.client.post("/v1/feedback", content=body, headers={**api.headers("admin"), **JSON})
    assert answer.status_code == 422, answer.text
    assert "note" in _fields(answer)
    with api.runtime.sessions() as session:
        assert session.query(Feedback).filter_by(suggestion_id=sid).count() == 0


def test_feedback_note_may_hold_line_breaks_and_tabs(api) -> None:
    sid = _shown_suggestion(api, 46)
    note = "called twice\n\tcustomer asks for a quote\r\nnext week: ✓ 😀"
    answer = api.client.post("/v1/feedback", json={"suggestion_id": sid, "status": "done", "note": note},
                             headers=api.headers("admin"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["note"] == note


@pytest.mark.parametrize(("body", "field"), [
    ('{"name": "nan budget", "budget": NaN}', "budget"),
    ('{"name": "inf budget", "budget": Infinity}', "budget"),
    ('{"name": "-inf budget", "budget": -Infinity}', "budget"),
    ('{"name": "huge budget", "budget": 1e309}', "budget"),
    ('{"name": "nan margin", "min_incremental_margin": NaN}', "min_incremental_margin"),
    ('{"name": "nan channel budget", "channel_budgets": {"email": NaN}}', "channel_budgets"),
    ('{"name": "surrogate \\udc80"}', "name"),
    ('{"name": "nul channel", "channels": ["e\\u0000mail"]}', "channels"),
    ('{"name": "surrogate offer", "offers": ["\\udc80"]}', "offers"),
    ('{"name": "nul key", "offer_limits": {"o\\u0000": 3}}', "offer_limits"),
])
def test_campaign_values_that_json_cannot_answer_are_422(api, body: str, field: str) -> None:
    answer = api.client.post("/v1/campaigns", content=body.encode(), headers={**api.headers("marketing"), **JSON})
    assert answer.status_code == 422, answer.text
    assert field in _fields(answer)


def test_error_values_are_echoed_safely() -> None:
    from serving.api.errors import safe_json

    assert safe_json({"a": [float("nan"), float("inf"), -float("inf")], "b": "x\udc80"}) == \
        {"a": ["NaN", "Infinity", "-Infinity"], "b": "x\\udc80"}
    assert len(safe_json("y" * 10_000)) < 300
