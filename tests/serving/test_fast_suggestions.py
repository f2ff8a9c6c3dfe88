"""The account suggestions' fast path answers only the plain case, exactly as the route would,
and leaves everything else to the route (its errors, its token lookup, its logging)."""

from __future__ import annotations

import logging

import pytest

from serving.api import fast_suggestions
from serving.api.fast_suggestions import _parse
from serving.store.decisions import count_decisions

TOKEN = [(b"authorization", b"Bearer abc123")]


def _scope(path: str = "/v1/accounts/A1/suggestions", query: bytes = b"", method: str = "GET",
           headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": method, "path": path, "query_string": query, "root_path": "",
            "headers": TOKEN if headers is None else headers}


def test_the_plain_request_is_taken() -> None:
    assert _parse(_scope()) == ("A1", 3, None, "abc123")
    assert _parse(_scope("/v1/accounts/a/b c/suggestions", b"k=10&lang=de")) == ("a/b c", 10, "de", "abc123")
    assert _parse(_scope(headers=[(b"authorization", b"bearer abc123")])) == ("A1", 3, None, "abc123")


@pytest.mark.parametrize("scope", [
    _scope(method="POST"),
    _scope("/v1/accounts/A1"),
    _scope("/v1/reps/R1/suggestions"),
    _scope("/v1/accounts//suggestions"),
    _scope("/v1/accounts/A\n1/suggestions"),
    _scope("/v1/accounts/A1\n/suggestions"),
    _scope(query=b"k=0"),
    _scope(query=b"k=11"),
    _scope(query=b"k=three"),
    _scope(query=b"k="),
    _scope(query=b"k=%C2%B3"),
    _scope(query=b"k=3&k=4"),
    _scope(query=b"lang=fr"),
    _scope(query=b"other=1"),
    _scope(headers=[]),
    _scope(headers=[(b"authorization", b"Basic abc123")]),
    _scope(headers=[(b"authorization", b"Bearer ")]),
    _scope(headers=[(b"authorization", b"Bearer " + b"x" * 201)]),
    {**_scope(), "root_path": "/api"},
])
def test_anything_else_is_left_to_the_route(scope: dict) -> None:
    assert _parse(scope) is None


def test_answers_of_the_fast_path_and_of_the_route_agree_and_are_logged(api, caplog) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[21])
    headers = api.headers("marketing")
    url = f"/v1/accounts/{account}/suggestions?k=4"
    with api.runtime.sessions() as session:
        before = count_decisions(session, account)
    with caplog.at_level(logging.INFO, logger="symbiose.access"):
        first = api.client.get(url, headers=headers)  # a token not checked yet: the route
        second = api.client.get(url, headers=headers)  # then cached: the fast path
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and len(first.json()["suggestions"]) == 4
    assert second.headers["x-request-id"] and second.headers["content-type"] == "application/json"
    with api.runtime.sessions() as session:
        assert count_decisions(session, account) == before + 8, "both answers logged"
    lines = [r.fields for r in caplog.records if r.name == "symbiose.access"]
    assert sum((line["method"], line["route"], line["status"], line["role"])
               == ("GET", "/v1/accounts/{account_id}/suggestions", 200, "marketing") for line in lines) == 2


def test_errors_still_come_from_the_route(api) -> None:
    rep_a, _rep_b = api.scopes["rep"]["rep_id"], api.scopes["rep_other"]["rep_id"]
    directory = api.runtime.snapshot.directory
    foreign = next(str(a) for a, r in zip(directory.accounts, directory.rep_id, strict=True) if r not in (rep_a, None))
    api.client.get("/health")
    for _ in range(2):  # the second time with the token cached
        hidden = api.client.get(f"/v1/accounts/{foreign}/suggestions", headers=api.headers("rep"))
        assert hidden.status_code == 404 and "not found" in hidden.json()["detail"]
    assert api.client.get(f"/v1/accounts/{foreign}/suggestions?k=0", headers=api.headers("admin")).status_code == 422
    assert api.client.get(f"/v1/accounts/{foreign}/suggestions", headers=api.headers("revoked")).status_code == 401
    assert api.client.get(f"/v1/accounts/{foreign}/suggestions").status_code == 401


@pytest.fixture
def fast_answers(monkeypatch) -> list[bytes]:
    """The bodies the fast path answered itself (it renders each with this function)."""
    bodies: list[bytes] = []
    render = fast_suggestions.account_suggestions_json

    def counted(*args, **kwargs) -> bytes:
        bodies.append(render(*args, **kwargs))
        return bodies[-1]

    monkeypatch.setattr(fast_suggestions, "account_suggestions_json", counted)
    return bodies


@pytest.mark.parametrize("encoding", ["identity", "gzip, deflate"])
def test_the_fast_answer_has_the_routes_headers(api, fast_answers, encoding: str) -> None:
    """Security headers, gzip or its Vary header, type and length: as the route's answer has them."""
    account = str(api.runtime.snapshot.suggestions.accounts[23])
    url = f"/v1/accounts/{account}/suggestions?k=5"
    headers = {**api.headers("admin"), "Accept-Encoding": encoding}
    api.runtime.principals._entries.clear()  # the first request checks the token: the route
    route = api.client.get(url, headers=headers)
    assert not fast_answers
    fast = api.client.get(url, headers=headers)
    assert len(fast_answers) == 1, "the second request is answered by the fast path"
    assert route.status_code == fast.status_code == 200 and route.content == fast.content

    def comparable(answer) -> list[tuple[str, str]]:
        return [(name, value) for name, value in answer.headers.multi_items() if name not in ("x-request-id", "date")]

    assert comparable(fast) == comparable(route)
    assert fast.headers["content-security-policy"] and fast.headers["vary"] == "Accept-Encoding"
    if encoding.startswith("gzip"):
        assert fast.headers["content-encoding"] == "gzip" and fast.content == fast_answers[0]
    else:
        assert "content-encoding" not in fast.headers and int(fast.headers["content-length"]) == len(fast.content)


def test_limits_still_apply_with_a_cached_token(api, fast_answers) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[24])
    url = f"/v1/accounts/{account}/suggestions"
    headers = api.headers("admin")
    assert api.client.get(url, headers=headers).status_code == 200  # the token is cached now
    fast_answers.clear()  # that answer may have come from the fast path already
    limit = api.runtime.settings.max_header_bytes
    big = api.client.get(url, headers={**headers, "X-Padding": "p" * limit})
    assert big.status_code == 431 and big.headers["x-content-type-options"] == "nosniff"
    body = b"x" * (api.runtime.settings.max_body_bytes + 1)
    assert api.client.request("GET", url, headers=headers, content=body).status_code == 413
    assert not fast_answers


def _age(api, token: str, seconds_left: float) -> None:
    """Make the cached check of ``token`` expire ``seconds_left`` from now (in its last part)."""
    import time

    from serving.auth import hash_token

    key = hash_token(token)
    _expires, _refresh_from, principal = api.runtime.principals._entries[key]
    now = time.monotonic()
    api.runtime.principals._entries[key] = (now + seconds_left, now, principal)


def _wait_for(condition, within: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("query, fast", [("", True), ("?k=3&view=full", False)])
def test_a_token_in_use_is_checked_again_before_it_expires(api, fast_answers, query: str, fast: bool) -> None:
    """Near its expiry, a request is answered from the cache and the token is checked again
    beside it (on the fast path and on the route's); the entry is renewed, so requests after the
    old expiry need no lookup; a token revoked meanwhile is dropped by that check."""
    import time

    from serving.auth import hash_token
    from serving.store.users import add_user, revoke_user

    name = f"refreshing-{int(fast)}"
    with api.runtime.sessions() as session:
        _user, token = add_user(session, name=name, role="admin")
    url = f"/v1/accounts/{api.runtime.snapshot.suggestions.accounts[25]}/suggestions{query}"
    headers = {"Authorization": f"Bearer {token}"}
    key = hash_token(token)
    assert api.client.get(url, headers=headers).status_code == 200  # checked and cached
    _age(api, token, seconds_left=0.5)
    fast_answers.clear()
    assert api.client.get(url, headers=headers).status_code == 200
    assert len(fast_answers) == int(fast)
    assert _wait_for(lambda: api.runtime.principals._entries[key][0] > time.monotonic() + 1.0), \
        "the entry was renewed by the check"
    time.sleep(0.6)  # past the old expiry: still cached
    assert api.runtime.principals.get(key) is not None
    assert api.client.get(url, headers=headers).status_code == 200 and len(fast_answers) == 2 * int(fast)

    with api.runtime.sessions() as session:
        revoke_user(session, name)
    _age(api, token, seconds_left=5.0)
    assert api.client.get(url, headers=headers).status_code == 200  # the cached answer, as before
    assert _wait_for(lambda: key not in api.runtime.principals._entries), "the check found it revoked"
    assert api.client.get(url, headers=headers).status_code == 401
