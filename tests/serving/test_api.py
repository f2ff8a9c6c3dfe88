"""The HTTP API end to end (in-process) on SQLite and PostgreSQL: contract shapes, decision log,
feedback semantics, pagination, account summary, model info and error answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from serving.store.tables import Decision, Feedback
from tests.serving.conftest import fresh_database, running_api

SUGGESTION_FIELDS = {"suggestion_id", "rank", "channel", "offer_id", "discount_pct", "p_convert",
                     "p_convert_baseline", "expected_incremental_margin", "executed_by", "reasons"}


def _ts(text: str) -> pd.Timestamp:
    """An API time (RFC 3339, UTC) as the naive UTC timestamp the data uses."""
    stamp = pd.Timestamp(text)
    assert stamp.tzinfo is not None, f"{text} has no UTC offset"
    return stamp.tz_convert("UTC").tz_localize(None)


def _accounts_with(snapshot, channel: str) -> list[str]:
    """Accounts whose precomputed candidates include ``channel``, in snapshot order."""
    svc = snapshot.suggestions
    pos = np.unique(svc.account_pos[svc.cols["channel"] == channel])
    return [str(a) for a in svc.accounts[pos]]


def _get(api, account: str, k: int = 10, user: str = "admin") -> list[dict]:
    got = api.client.get(f"/v1/accounts/{account}/suggestions?k={k}", headers=api.headers(user))
    assert got.status_code == 200, got.text
    return got.json()["suggestions"]


def _post(api, body: dict, user: str = "admin", key: str | None = None):
    headers = api.headers(user) | ({"Idempotency-Key": key} if key else {})
    return api.client.post("/v1/feedback", json=body, headers=headers)


def _count(api, model, **where) -> int:
    with api.runtime.sessions() as s:
        query = select(func.count()).select_from(model)
        for col, value in where.items():
            query = query.where(getattr(model, col) == value)
        return int(s.scalar(query))


def test_health_and_model(api, trained_run) -> None:
    health = api.client.get("/health").json()
    assert health["model_version"] == trained_run.model_version == api.runtime.snapshot.model.version
    assert _ts(health["data_as_of"]) == api.runtime.snapshot.as_of and health["accounts"] == 400
    model = api.client.get("/v1/model", headers=api.headers("marketing")).json()
    assert model["version"] == trained_run.model_version and model["trained_at"]
    assert 0.5 < model["metrics"]["valid_auc"] <= 1.0
    assert api.client.get("/docs").status_code == 200
    assert "/v1/feedback" in api.client.get("/openapi.json").json()["paths"]


def test_suggestions_follow_the_contract_and_are_logged(api) -> None:
    snapshot = api.runtime.snapshot
    account = str(snapshot.suggestions.accounts[5])
    before = _count(api, Decision, account_id=account)
    got = api.client.get(f"/v1/accounts/{account}/suggestions?k=3", headers=api.headers("admin")).json()
    assert got["account_id"] == account and got["model_version"] == snapshot.model.version
    sugg = got["suggestions"]
    assert 1 <= len(sugg) <= 3 and [s["rank"] for s in sugg] == list(range(1, len(sugg) + 1))
    assert all(SUGGESTION_FIELDS <= set(s) for s in sugg)
    assert all(isinstance(s["reasons"], list) and all(isinstance(r, str) and r for r in s["reasons"])
               for s in sugg)
    values = [s["expected_incremental_margin"] for s in sugg]
    assert values == sorted(values, reverse=True) and min(values) >= 0
    assert len(sugg) == 3 or sugg[-1]["channel"] == "none"
    # The same request gives the same ids (stable), and every shown suggestion is logged.
    again = _get(api, account, k=3)
    assert [s["suggestion_id"] for s in again] == [s["suggestion_id"] for s in sugg]
    assert _count(api, Decision, account_id=account) == before + 2 * len(sugg)
    with api.runtime.sessions() as s:
        row = s.scalars(select(Decision).where(Decision.account_id == account).order_by(Decision.id.desc())).first()
    last = sugg[-1]
    assert (row.suggestion_id, row.rank, row.channel, row.propensity, row.model_version) == \
        (last["suggestion_id"], last["rank"], last["channel"], 1.0, snapshot.model.version)
    assert row.p_convert == pytest.approx(last["p_convert"]) and row.user_id is not None
    assert pd.Timestamp(row.as_of) == snapshot.as_of and row.requested_at is not None


def test_top_suggestions_explain_themselves_from_the_account_history(api) -> None:
    accounts = api.runtime.snapshot.suggestions.account_ids[:40]
    firsts = [_get(api, a, k=1)[0] for a in accounts]
    acting = [s for s in firsts if s["channel"] != "none"]
    value_at = [next(i for i, r in enumerate(s["reasons"]) if r.startswith("expected")) for s in acting]
    # History sentences precede the value sentence for most rank-1 actions.
    assert acting and sum(i >= 1 for i in value_at) >= len(acting) / 2


def test_reasons_come_in_the_language_asked_for(api) -> None:
    from features.reason_texts import reasons_from_json

    service = api.runtime.snapshot.suggestions
    account = next(str(a) for a in service.account_ids if service.reason_codes(str(a)))
    english = _get(api, account, k=3)
    got = api.client.get(f"/v1/accounts/{account}/suggestions?k=3&lang=de", headers=api.headers("admin"))
    assert got.status_code == 200, got.text
    german = got.json()["suggestions"]
    assert [s["suggestion_id"] for s in german] == [s["suggestion_id"] for s in english]
    codes = service.reason_codes(account)
    for en, de in zip(english, german, strict=True):
        if en["suggestion_id"] in codes:
            reasons = reasons_from_json(codes[en["suggestion_id"]])
            assert en["reasons"] == [r.text("en", api.runtime.snapshot.currency) for r in reasons]
            assert de["reasons"] == [r.text("de", api.runtime.snapshot.currency) for r in reasons]
            assert de["reasons"] != en["reasons"]
    assert _get(api, account, k=3) == english  # English stays the default
    rep = next(r for r in api.runtime.snapshot.directory.rep_id if r)
    page = api.client.get(f"/v1/reps/{rep}/suggestions?limit=5&lang=de", headers=api.headers("admin"))
    assert page.status_code == 200, page.text
    firsts = [a["suggestions"][0] for a in page.json()["accounts"] if a["suggestions"]]
    assert any(s["reasons"] and s["channel"] != "none" for s in firsts)
    assert not any(r.startswith("expected") for s in firsts for r in s["reasons"])
    bad = api.client.get(f"/v1/accounts/{account}/suggestions?lang=fr", headers=api.headers("admin"))
    assert bad.status_code == 422 and "lang" in bad.text


def test_dismissed_and_done_suggestions_are_not_shown_again(api) -> None:
    accounts = [a for a in _accounts_with(api.runtime.snapshot, "email")][10:12]
    for account, status in zip(accounts, ("dismissed", "done"), strict=True):
        first = _get(api, account)
        target = next(s for s in first if s["channel"] != "none")
        resp = _post(api, {"suggestion_id": target["suggestion_id"], "status": status, "reason": "wrong_timing",
                           "note": "customer is restructuring"})
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert (body["status"], body["reason"], body["account_id"]) == (status, "wrong_timing", account)
        after = _get(api, account)
        shown = {(s["channel"], s["offer_id"]) for s in after}
        assert (target["channel"], target["offer_id"]) not in shown
        assert [s["rank"] for s in after] == list(range(1, len(after) + 1))


def test_suppression_days_are_configurable(serving_snapshot, tmp_path) -> None:
    with fresh_database("sqlite", tmp_path) as url, running_api(url, serving_snapshot, suppress_days=0) as api:
        account = _accounts_with(serving_snapshot, "email")[3]
        target = _get(api, account)[0]
        assert _post(api, {"suggestion_id": target["suggestion_id"], "status": "dismissed"}).status_code == 201
        assert _get(api, account)[0]["suggestion_id"] == target["suggestion_id"]


def test_accepted_rep_actions_count_against_the_contact_cap(api) -> None:
    snapshot = api.runtime.snapshot
    svc = snapshot.suggestions
    cap = svc.capped["phone"].max_per_30d
    candidates = _accounts_with(snapshot, "phone")
    account = next((a for a in candidates if svc.touches["phone"][svc.position(a)] == cap - 1), candidates[0])
    used = int(svc.touches["phone"][svc.position(account)])
    while used < cap:
        phones = [s for s in _get(api, account) if s["channel"] == "phone"]
        assert phones, f"phone should still be suggested with {used} of {cap} contacts used"
        assert _post(api, {"suggestion_id": phones[0]["suggestion_id"], "status": "accepted"}).status_code == 201
        used += 1
    assert all(s["channel"] != "phone" for s in _get(api, account))
    # A marketing action accepted does not use up a contact cap.
    other = _accounts_with(snapshot, "email")[20]
    emails = [s for s in _get(api, other) if s["channel"] == "email"]
    assert _post(api, {"suggestion_id": emails[0]["suggestion_id"], "status": "accepted"}).status_code == 201
    assert [s["suggestion_id"] for s in _get(api, other) if s["channel"] == "email"] == \
        [s["suggestion_id"] for s in emails]


def test_feedback_is_idempotent_with_a_key(api) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[30])
    sid = _get(api, account)[0]["suggestion_id"]
    first = _post(api, {"suggestion_id": sid, "status": "accepted"}, key="retry-1")
    second = _post(api, {"suggestion_id": sid, "status": "accepted"}, key="retry-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers["idempotency-replayed"] == "true"
    assert _count(api, Feedback, idempotency_key="retry-1") == 1
    conflict = _post(api, {"suggestion_id": sid, "status": "dismissed"}, key="retry-1")
    assert conflict.status_code == 409 and "already used" in conflict.json()["detail"]
    # The same key from another user is that user's own key.
    assert _post(api, {"suggestion_id": sid, "status": "dismissed"}, user="marketing", key="retry-1").status_code == 201


def test_feedback_on_unknown_suggestion_is_404(api) -> None:
    resp = _post(api, {"suggestion_id": "0123456789abcdef0123456789abcdef", "status": "done"})
    assert resp.status_code == 404 and "not found" in resp.json()["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "done"}, "suggestion_id"),
    ({"suggestion_id": "0123456789abcdef", "status": "maybe"}, "status"),
    ({"suggestion_id": "0123456789abcdef", "status": "done", "reason": ["because"]}, "reason"),
    ({"suggestion_id": "0123456789abcdef", "status": "done", "note": "x" * 1001}, "note"),
    ({"suggestion_id": 1234567890, "status": "done"}, "suggestion_id"),
    ({"suggestion_id": "NOT-HEX-AT-ALL", "status": "done"}, "suggestion_id"),
    ({"suggestion_id": "0123456789abcdef", "status": "done", "extra": 1}, "extra"),
])
def test_invalid_feedback_is_422_naming_the_field(api, body: dict, field: str) -> None:
    resp = _post(api, body)
    assert resp.status_code == 422
    assert field in [str(part) for err in resp.json()["detail"] for part in err["loc"]]


def test_malformed_json_is_a_clear_4xx(api) -> None:
    headers = api.headers("admin") | {"Content-Type": "application/json"}
    broken = api.client.post("/v1/feedback", content=b"{not json", headers=headers)
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    not_utf8 = api.client.post("/v1/feedback", content=b"\xff;", headers=headers)
    assert not_utf8.status_code == 400 and "parsing the body" in not_utf8.json()["detail"]


@pytest.mark.parametrize(("query", "field"), [("k=0", "k"), ("k=11", "k"), ("k=abc", "k")])
def test_invalid_k_is_422(api, query: str, field: str) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[0])
    resp = api.client.get(f"/v1/accounts/{account}/suggestions?{query}", headers=api.headers("admin"))
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["query", field]


def test_unknown_account_and_rep_are_404(api) -> None:
    for path in ("/v1/accounts/NOPE/suggestions", "/v1/accounts/NOPE"):
        resp = api.client.get(path, headers=api.headers("admin"))
        assert resp.status_code == 404 and resp.json() == {"detail": "account 'NOPE' not found"}
    resp = api.client.get("/v1/reps/NOPE/suggestions", headers=api.headers("admin"))
    assert resp.status_code == 404 and resp.json() == {"detail": "rep 'NOPE' not found"}


def test_rep_list_is_best_first_and_paginated(api) -> None:
    rep = api.scopes["rep"]["rep_id"]
    headers = api.headers("rep")
    full = api.client.get(f"/v1/reps/{rep}/suggestions?limit=200&k=2", headers=headers).json()
    owned = api.runtime.snapshot.directory.rep_accounts(rep)
    assert full["total"] == len(owned) == len(full["accounts"]) and full["rep_id"] == rep
    best = [a["best_expected_incremental_margin"] for a in full["accounts"]]
    assert best == sorted(best, reverse=True)
    for entry in full["accounts"]:
        assert 1 <= len(entry["suggestions"]) <= 2
        assert entry["suggestions"][0]["expected_incremental_margin"] == pytest.approx(
            entry["best_expected_incremental_margin"])
    pages = []
    for offset in range(0, full["total"], 7):
        page = api.client.get(f"/v1/reps/{rep}/suggestions?limit=7&offset={offset}&k=2", headers=headers).json()
        assert page["total"] == full["total"] and len(page["accounts"]) <= 7
        pages += [a["account_id"] for a in page["accounts"]]
    assert pages == [a["account_id"] for a in full["accounts"]]
    beyond = api.client.get(f"/v1/reps/{rep}/suggestions?offset={full['total']}", headers=headers).json()
    assert beyond["accounts"] == [] and beyond["total"] == full["total"]
    for bad in ("limit=0", "limit=201", "offset=-1"):
        assert api.client.get(f"/v1/reps/{rep}/suggestions?{bad}", headers=headers).status_code == 422


def test_account_summary(api, small_dataset) -> None:
    snapshot = api.runtime.snapshot
    account = str(snapshot.suggestions.accounts[7])
    got = api.client.get(f"/v1/accounts/{account}", headers=api.headers("admin"))
    assert got.status_code == 200
    body = got.json()
    row = small_dataset.accounts.set_index("account_id").loc[account]
    assert (body["region"], body["rep_id"]) == (row["region"], row["rep_id"])
    orders = small_dataset.orders
    mine = orders[(orders["account_id"] == account) & (orders["ordered_at"] < snapshot.as_of)]
    recent = mine[mine["ordered_at"] >= snapshot.as_of - pd.Timedelta(days=90)]
    for channel in ("online", "offline"):
        part = recent[recent["channel"] == channel]
        assert body["orders_90d"][channel]["orders"] == part["order_id"].nunique()
        assert body["orders_90d"][channel]["revenue"] == pytest.approx(part["net_amount"].sum())
    times = [_ts(o["ordered_at"]) for o in body["recent_orders"]]
    assert times == sorted(times, reverse=True) and len(times) == min(10, len(mine))
    assert all(t < snapshot.as_of for t in times)
    touches = [_ts(t["touched_at"]) for t in body["recent_touches"]]
    assert touches == sorted(touches, reverse=True) and all(t < snapshot.as_of for t in touches)
