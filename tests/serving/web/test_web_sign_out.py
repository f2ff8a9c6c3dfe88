"""Signing out ends the session on the server: a copy of the session cookie taken before
POST /ui/logout no longer works, in this process at once and in another one sharing the
database too. Revoking a user ends their sessions as well. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from serving.web.session import SESSION_COOKIE
from tests.serving.conftest import fresh_database, running_api
from tests.serving.web.conftest import csrf_of, sign_in


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_db(request, tmp_path_factory, serving_snapshot):
    with fresh_database(request.param, tmp_path_factory.mktemp("sign-out")) as url, \
            running_api(url, serving_snapshot) as running:
        yield running, url


def _with_cookie(app, cookie: str) -> TestClient:
    client = TestClient(app)
    client.cookies.set(SESSION_COOKIE, cookie, path="/ui")
    return client


def _stored_sign_ins(api) -> int:
    from serving.store.tables import WebSignIn

    with api.runtime.sessions() as session:
        return session.query(WebSignIn).count()


def test_a_copied_cookie_stops_working_after_sign_out(web_db) -> None:
    api, _url = web_db
    client = sign_in(api, "rep")
    copied = client.cookies.get(SESSION_COOKIE)
    copy_client = _with_cookie(api.client.app, copied)
    assert copy_client.get("/ui/", follow_redirects=False).status_code == 200
    page = client.get("/ui/")
    out = client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    for path in ("/ui/", "/ui/scoreboard"):
        answer = copy_client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/login", path
    # htmx requests are told to sign in again, and a form post with the old CSRF token is refused.
    assert copy_client.get("/ui/", headers={"HX-Request": "true"}).status_code == 401
    posted = copy_client.post("/ui/feedback", data={"suggestion_id": "0" * 16, "action": "done",
                                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == "/ui/login"


@contextmanager
def _another_process(url: str, snapshot) -> Iterator[TestClient]:
    """A second service over the same database, without a principal cache (same cookie secret:
    one test process)."""
    from serving.app import create_app
    from serving.runtime import open_runtime
    from serving.settings import Settings

    runtime = open_runtime(Settings(database_url=url, auth_cache_seconds=0), snapshot)
    try:
        with TestClient(create_app(runtime=runtime)) as client:
            yield client
    finally:
        runtime.close()


def test_sign_out_reaches_other_processes_on_the_same_database(web_db, serving_snapshot) -> None:
    api, url = web_db
    client = sign_in(api, "manager")
    with _another_process(url, serving_snapshot) as elsewhere:
        elsewhere.cookies.set(SESSION_COOKIE, client.cookies.get(SESSION_COOKIE), path="/ui")
        assert elsewhere.get("/ui/", follow_redirects=False).status_code == 200
        page = client.get("/ui/")
        client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert elsewhere.get("/ui/", follow_redirects=False).status_code == 303


def test_revoking_a_user_ends_their_sessions(web_db) -> None:
    from serving.store.users import add_user, revoke_user

    api, _url = web_db
    with api.runtime.sessions() as session:
        _user, token = add_user(session, name="short-stay", role="marketing")
    api.tokens["short-stay"] = token
    client = sign_in(api, "short-stay")
    before = _stored_sign_ins(api)
    with api.runtime.sessions() as session:
        revoke_user(session, "short-stay")
    assert _stored_sign_ins(api) == before - 1
    api.runtime.principals.ttl = 0  # no cached answer in this process either
    try:
        api.runtime.principals._entries.clear()
        assert client.get("/ui/", follow_redirects=False).status_code == 303
    finally:
        api.runtime.principals.ttl = api.runtime.settings.auth_cache_seconds


def test_only_a_hash_of_the_session_id_is_stored(web_db) -> None:
    api, _url = web_db
    client = sign_in(api, "admin")
    cookie = client.cookies.get(SESSION_COOKIE)
    from serving.store.tables import WebSignIn

    with api.runtime.sessions() as session:
        stored = [row.id_hash for row in session.query(WebSignIn)]
    assert stored and all(len(h) == 64 and h not in cookie for h in stored)
