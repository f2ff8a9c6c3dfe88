"""``POST /v1/feedback`` takes a call's ``outcome`` and a ``snooze_until`` with the rules of the rep
pages' card buttons, refuses fields that do not go together with a 422 naming the field, and
stores them. On SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from serving.store.tables import Feedback
from serving.store.users import utcnow


def _shown(api, executed_by: str, index: int) -> str:
    """The suggestion id of the ``index``-th account's first action executed by ``executed_by``,
    shown to the admin (so that it may get feedback)."""
    service = api.runtime.snapshot.suggestions
    depth = np.arange(len(service.account_pos)) - service.first_rows[service.account_pos]
    rows = np.flatnonzero((service.cols["executed_by"] == executed_by) & (depth < 10) & ~service.cols["later"])
    accounts = list(dict.fromkeys(service.cols["account_id"][rows].tolist()))
    account = accounts[index]
    answer = api.client.get(f"/v1/accounts/{account}/suggestions?k=10", headers=api.headers("admin"))
    assert answer.status_code == 200, answer.text
    found = [s["suggestion_id"] for s in answer.json()["suggestions"] if s["executed_by"] == executed_by]
    assert found, f"account {account} shows no {executed_by} action"
    return found[0]


def _post(api, body: dict):
    return api.client.post("/v1/feedback", json=body, headers=api.headers("admin"))


def _refused_field(answer) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [str(err["loc"][-1]) for err in answer.json()["detail"]]


@pytest.mark.parametrize("outcome", ["reached", "not_reached", "order_expected"])
def test_outcome_of_a_done_rep_action_is_stored(api, outcome: str) -> None:
    sid = _shown(api, "rep", ["reached", "not_reached", "order_expected"].index(outcome))
    answer = _post(api, {"suggestion_id": sid, "status": "done", "outcome": outcome, "note": "spoke to buyer"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["outcome"] == outcome and answer.json()["note"] == "spoke to buyer"
    with api.runtime.sessions() as session:
        row = session.query(Feedback).filter_by(suggestion_id=sid, status="done").one()
    assert row.outcome == outcome


def test_snooze_until_a_later_day_is_stored_and_hides_the_account(api) -> None:
    sid = _shown(api, "rep", 5)
    day = (utcnow() + timedelta(days=3)).date()
    answer = _post(api, {"suggestion_id": sid, "status": "snoozed", "snooze_until": day.isoformat()})
    assert answer.status_code == 201, answer.text
    assert answer.json()["snooze_until"] == day.isoformat() and answer.json()["status"] == "snoozed"
    with api.runtime.sessions() as session:
        row = session.query(Feedback).filter_by(suggestion_id=sid, status="snoozed").one()
    assert row.snooze_until is not None and row.snooze_until.date() == day
    account = row.account_id
    assert account in api.runtime.feedback.effects([account], utcnow()).snoozed
    undo = _post(api, {"suggestion_id": sid, "status": "undone"})
    assert undo.status_code == 201, undo.text
    assert account not in api.runtime.feedback.effects([account], utcnow()).snoozed


def test_outcome_on_a_marketing_action_is_refused(api) -> None:
    sid = _shown(api, "marketing", 0)
    answer = _post(api, {"suggestion_id": sid, "status": "done", "outcome": "reached"})
    assert _refused_field(answer) == ["outcome"]
    assert "rep-executed" in answer.json()["detail"][0]["msg"]


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "accepted", "outcome": "reached"}, "outcome"),
    ({"status": "done", "outcome": "maybe"}, "outcome"),
    ({"status": "snoozed"}, "snooze_until"),
    ({"status": "snoozed", "snooze_until": "2020-01-01"}, "snooze_until"),
    ({"status": "snoozed", "snooze_until": "today"}, "snooze_until"),
    ({"status": "done", "snooze_until": "2099-01-01"}, "snooze_until"),
])
def test_fields_that_do_not_go_together_are_refused(api, body: dict, field: str) -> None:
    sid = _shown(api, "rep", 6)
    assert _refused_field(_post(api, {"suggestion_id": sid, **body})) == [field]
    with api.runtime.sessions() as session:
        assert session.query(Feedback).filter_by(suggestion_id=sid).count() == 0


def test_snooze_today_and_beyond_a_year_are_refused(api) -> None:
    sid = _shown(api, "rep", 7)
    for days in (0, 367):
        day = (utcnow() + timedelta(days=days)).date().isoformat()
        answer = _post(api, {"suggestion_id": sid, "status": "snoozed", "snooze_until": day})
        assert _refused_field(answer) == ["snooze_until"], day


def test_the_schema_documents_the_new_fields(api) -> None:
    schema = api.client.get("/openapi.json").json()
    body = schema["components"]["schemas"]["FeedbackIn"]["properties"]
    assert {"outcome", "snooze_until", "note"} <= set(body)
    assert "marketing" in body["outcome"]["description"]
    statuses = schema["components"]["schemas"]["FeedbackIn"]["properties"]["status"]
    assert "snoozed" in str(statuses) and "undone" in str(statuses)
    responses = schema["paths"]["/v1/feedback"]["post"]["responses"]
    assert "422" in responses and "field" in responses["422"]["description"]
