"""``GET /v1/attribution`` for every role: a rep sees their own numbers and their region's total,
a manager their region, marketing and admin everything; bad periods and groupings get 422."""

from __future__ import annotations

import pandas as pd
import pytest

PERIOD = {"from": "2024-07-01", "to": "2025-07-01"}


def _get(api, user: str, **params: str):
    return api.client.get("/v1/attribution", params={**PERIOD, **params}, headers=api.headers(user))


def _lines(api) -> pd.DataFrame:
    lines = api.runtime.snapshot.attributed_lines()
    start, end = pd.Timestamp(PERIOD["from"]), pd.Timestamp(PERIOD["to"])
    return lines[(lines["ordered_at"] >= start) & (lines["ordered_at"] < end)]


def _total(rows: list[dict]) -> float:
    return sum(r["offline_revenue"] + r["online_revenue"] for r in rows)


@pytest.mark.parametrize("user", ["marketing", "admin"])
@pytest.mark.parametrize("by", ["rep", "region", "channel", "campaign"])
def test_marketing_and_admin_see_everything(api, user: str, by: str) -> None:
    answer = _get(api, user, by=by)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["by"] == by and body["from"].startswith("2024-07-01") and body["currency"]
    assert {r["scope"] for r in body["rows"]} == {"all"}
    assert _total(body["rows"]) == pytest.approx(_lines(api)["net_amount"].sum(), abs=0.05)


def test_rep_sees_own_row_and_region_total(api) -> None:
    rep = api.scopes["rep"]["rep_id"]
    body = _get(api, "rep", by="rep").json()
    assert [r["scope"] for r in body["rows"]] == ["own", "region_total"]
    own, region = body["rows"]
    assert own["key"] == rep
    admin = {r["key"]: r for r in _get(api, "admin", by="rep").json()["rows"]}
    assert own == {**admin[rep], "scope": "own"}
    lines = _lines(api)
    in_region = lines[lines["region"].astype(str) == region["key"]]
    assert region["offline_revenue"] + region["online_revenue"] == pytest.approx(in_region["net_amount"].sum(),
                                                                               abs=0.05)
    assert rep not in {r["key"] for r in _get(api, "rep_other", by="rep").json()["rows"]}


@pytest.mark.parametrize("by", ["region", "channel", "campaign"])
def test_rep_other_groupings_hold_only_own_accounts(api, by: str) -> None:
    rep = api.scopes["rep"]["rep_id"]
    rows = _get(api, "rep", by=by).json()["rows"]
    own = [r for r in rows if r["scope"] == "own"]
    assert [r["scope"] for r in rows[len(own):]] == ["region_total"]
    lines = _lines(api)
    assert _total(own) == pytest.approx(lines[lines["rep_id"].astype(str) == rep]["net_amount"].sum(), abs=0.05)


def test_manager_sees_their_region_only(api) -> None:
    region = api.scopes["manager"]["region"]
    body = _get(api, "manager", by="region").json()
    assert [r["key"] for r in body["rows"]] == [region]
    lines = _lines(api)
    by_rep = _get(api, "manager", by="rep").json()["rows"]
    assert _total(by_rep) == pytest.approx(lines[lines["region"].astype(str) == region]["net_amount"].sum(),
                                           abs=0.05)
    other = _get(api, "manager_other", by="region").json()["rows"]
    assert region not in {r["key"] for r in other}


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"to": "2025-13-01"}, {"by": "product"}])
def test_bad_requests_get_422(api, params: dict) -> None:
    answer = api.client.get("/v1/attribution", params={**PERIOD, "by": "rep", **params},
                            headers=api.headers("admin"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]


def test_empty_period_has_no_rows(api) -> None:
    answer = api.client.get("/v1/attribution", params={"from": "2025-07-01", "to": "2025-01-01"},
                            headers=api.headers("admin"))
    assert answer.status_code == 200 and answer.json()["rows"] == []


@pytest.mark.parametrize("user", [None, "revoked"])
def test_unauthenticated_get_401(api, user: str | None) -> None:
    headers = api.headers(user) if user else {}
    assert api.client.get("/v1/attribution", params=PERIOD, headers=headers).status_code == 401
