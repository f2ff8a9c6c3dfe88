"""Every role × own/other × every endpoint, on SQLite and PostgreSQL; plus every 401 case.

rep: accounts whose rep_id is theirs; manager: accounts of their region; marketing and admin: all.
Whatever is outside the caller's scope answers 404 exactly like something that does not exist.
"""

from __future__ import annotations

import pytest

#: user -> (whose accounts are "own": "a" or "b", may see the other side too?)
USERS = {"rep": ("a", False), "rep_other": ("b", False), "manager": ("a", False),
         "manager_other": ("b", False), "marketing": ("a", True), "admin": ("a", True)}
ENDPOINTS = ["suggestions", "summary", "rep_list", "feedback"]


@pytest.fixture(scope="module")
def sides(api) -> dict[str, dict[str, str]]:
    """One account and its rep on side a (rep A, region A) and side b (rep B, region B), with a
    shown suggestion each (shown to admin, so its feedback can be tried by everyone)."""
    snapshot = api.runtime.snapshot
    out = {}
    for side, user in (("a", "rep"), ("b", "rep_other")):
        rep = api.scopes[user]["rep_id"]
        pos = snapshot.directory.rep_accounts(rep)
        accounts = [str(snapshot.suggestions.accounts[p]) for p in pos]
        account = accounts[0]
        got = api.client.get(f"/v1/accounts/{account}/suggestions?k=10", headers=api.headers("admin"))
        assert got.status_code == 200, got.text
        sids = [s["suggestion_id"] for s in got.json()["suggestions"]]
        out[side] = {"account": account, "rep": rep, "sids": sids}
    return out


def _call(api, sides, endpoint: str, user: str, side: str, attempt: int):
    target = sides[side]
    headers = api.headers(user)
    if endpoint == "suggestions":
        return api.client.get(f"/v1/accounts/{target['account']}/suggestions", headers=headers)
    if endpoint == "summary":
        return api.client.get(f"/v1/accounts/{target['account']}", headers=headers)
    if endpoint == "rep_list":
        return api.client.get(f"/v1/reps/{target['rep']}/suggestions?limit=3", headers=headers)
    sid = target["sids"][attempt % len(target["sids"])]
    return api.client.post("/v1/feedback", json={"suggestion_id": sid, "status": "accepted"}, headers=headers)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("whose", ["own", "other"])
def test_scope_matrix(api, sides, endpoint: str, user: str, whose: str) -> None:
    own_side, sees_all = USERS[user]
    side = own_side if whose == "own" else ("b" if own_side == "a" else "a")
    allowed = whose == "own" or sees_all
    response = _call(api, sides, endpoint, user, side, attempt=len(user))
    ok = 201 if endpoint == "feedback" else 200
    if allowed:
        assert response.status_code == ok, response.text
        return
    assert response.status_code == 404, response.text
    target = sides[side]
    # Nothing about the foreign account leaks: the answer is the same as for something unknown.
    text = response.text
    assert target["rep"] not in text.replace(f"rep {target['rep']!r}", "")
    if endpoint in ("suggestions", "summary"):
        assert response.json() == {"detail": f"account {target['account']!r} not found"}
        unknown = api.client.get(f"/v1/accounts/NO-SUCH-{endpoint}", headers=api.headers(user))
        assert unknown.json() == {"detail": "account 'NO-SUCH-" + endpoint + "' not found"}
    elif endpoint == "rep_list":
        assert response.json() == {"detail": f"rep {target['rep']!r} not found"}
    else:
        assert "not found" in response.json()["detail"] and "region" not in text


def test_managers_see_only_their_region_in_a_reps_list(api, sides) -> None:
    got = api.client.get(f"/v1/reps/{sides['a']['rep']}/suggestions?limit=200", headers=api.headers("manager"))
    region = api.scopes["manager"]["region"]
    assert got.status_code == 200
    assert {a["region"] for a in got.json()["accounts"]} == {region}


@pytest.mark.parametrize("path", ["/v1/model", "/v1/accounts/X/suggestions", "/v1/accounts/X",
                                  "/v1/reps/R/suggestions", "/v1/feedback"])
@pytest.mark.parametrize("auth", [None, "Basic abc", "Bearer", "Bearer not-a-known-token", "revoked"])
def test_missing_unknown_or_revoked_token_is_401(api, path: str, auth: str | None) -> None:
    headers = {}
    if auth == "revoked":
        headers = api.headers("revoked")
    elif auth is not None:
        headers = {"Authorization": auth}
    if path == "/v1/feedback":
        response = api.client.post(path, json={"suggestion_id": "abcdef0123", "status": "done"}, headers=headers)
    else:
        response = api.client.get(path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] in ("missing bearer token: send 'Authorization: Bearer <token>'",
                                         "unknown or revoked token")


def test_health_needs_no_token_and_model_is_open_to_every_role(api) -> None:
    assert api.client.get("/health").status_code == 200
    for user in USERS:
        assert api.client.get("/v1/model", headers=api.headers(user)).status_code == 200


@pytest.mark.parametrize("cache_seconds", [0.0, 60.0])
def test_revocation_takes_effect_within_the_token_cache_time(serving_snapshot, tmp_path, cache_seconds) -> None:
    from serving.store.users import revoke_user
    from tests.serving.conftest import fresh_database, running_api

    with fresh_database("sqlite", tmp_path) as url, \
            running_api(url, serving_snapshot, auth_cache_seconds=cache_seconds) as api:
        assert api.client.get("/v1/model", headers=api.headers("marketing")).status_code == 200
        with api.runtime.sessions() as session:
            revoke_user(session, "marketing")
        after = api.client.get("/v1/model", headers=api.headers("marketing")).status_code
    assert after == (401 if cache_seconds == 0 else 200)
