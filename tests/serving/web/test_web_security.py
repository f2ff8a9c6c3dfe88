"""No page or fragment shows another rep's data; sign-in, CSRF, cookies and escaping."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest

from tests.serving.conftest import fresh_database, running_api
from tests.serving.web.conftest import csrf_of, own_account, sign_in

EVIL = "<script>alert(1)</script>\"'"


def _other_side(web) -> dict[str, str]:
    """Rep B's account, name, region and a suggestion of it that was shown (to admin)."""
    snapshot = web.runtime.snapshot
    rep_b = web.scopes["rep_other"]["rep_id"]
    account = own_account(web, "rep_other")
    shown = web.client.get(f"/v1/accounts/{account}/suggestions?k=3", headers=web.headers("admin")).json()
    sid = next(s["suggestion_id"] for s in shown["suggestions"] if s["channel"] != "none")
    pos = snapshot.directory.position(account)
    return {"account": account, "rep": rep_b, "rep_name": snapshot.directory.rep_names.get(rep_b, rep_b),
            "region": str(snapshot.directory.region[pos]), "sid": sid}


def _routes(other: dict[str, str]) -> list[tuple[str, str, dict[str, str] | None]]:
    return [("GET", f"/ui/accounts/{other['account']}", None),
            ("GET", f"/ui/scoreboard?rep_id={other['rep']}", None),
            ("GET", f"/ui/charts/revenue.svg?rep_id={other['rep']}", None),
            ("GET", f"/ui/charts/revenue.svg?region={other['region']}", None),
            ("GET", f"/ui/charts/funnel.svg?rep_id={other['rep']}", None),
            ("POST", "/ui/feedback", {"suggestion_id": other["sid"], "action": "accepted"})]


def test_wrong_owner_gets_404_without_data_on_every_route(web) -> None:
    other = _other_side(web)
    rep_region = web.runtime.snapshot.directory.region[web.runtime.snapshot.directory.position(
        own_account(web, "rep"))]
    assert rep_region != other["region"], "the fixture's two reps must be in different regions"
    client = sign_in(web, "rep")
    csrf = csrf_of(client.get("/ui/").text)
    for method, url, form in _routes(other):
        if method == "GET":
            answer = client.get(url)
        else:
            answer = client.post(url, data={**form, "csrf_token": csrf}, headers={"HX-Request": "true"})
        assert answer.status_code == 404, (url, answer.status_code)
        for secret in (other["account"], other["rep_name"], other["sid"]):
            assert secret not in answer.text, (url, secret)
    assert web.client.get(f"/v1/accounts/{other['account']}/suggestions", headers=web.headers("admin")
                          ).status_code == 200


def test_list_filters_cannot_reach_other_accounts(web) -> None:
    other = _other_side(web)
    client = sign_in(web, "rep")
    for query in (f"?rep_id={other['rep']}", f"?q={other['account']}", f"?region={other['region']}"):
        answer = client.get("/ui/" + query)
        assert answer.status_code == 200
        assert f'data-account="{other["account"]}"' not in answer.text
        assert f'/ui/accounts/{other["account"]}' not in answer.text
        assert other["rep_name"] not in answer.text


def test_manager_of_another_region_gets_404(web) -> None:
    client = sign_in(web, "manager_other")
    account = own_account(web, "rep")
    answer = client.get(f"/ui/accounts/{account}")
    assert answer.status_code == 404 and account not in answer.text
    assert sign_in(web, "manager").get(f"/ui/accounts/{account}").status_code == 200


@pytest.mark.parametrize("url", ["/ui/", "/ui/scoreboard", "/ui/accounts/x", "/ui/charts/funnel.svg"])
def test_pages_need_a_session(web, url: str) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web.client.app)
    answer = client.get(url, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
    htmx = client.get(url, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == "/ui/login"
    forged = client.get(url, cookies={"symbiose_session": "eyJ1IjoxfQ.forged.sig"}, follow_redirects=False)
    assert forged.status_code == 303


def test_posts_need_the_csrf_token(web) -> None:
    client = sign_in(web, "rep")
    page = client.get(f"/ui/accounts/{own_account(web, 'rep')}")
    sid = re.findall(r'name="suggestion_id" value="([0-9a-f]+)"', page.text)[0]
    for token in ("", "wrong"):
        answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "done", "csrf_token": token})
        assert answer.status_code == 403
    assert client.post("/ui/logout", data={}).status_code == 403
    from fastapi.testclient import TestClient

    fresh = TestClient(web.client.app)
    answer = fresh.post("/ui/login", data={"token": web.tokens["rep"], "csrf_token": "x"}, follow_redirects=False)
    assert answer.status_code == 403 and "symbiose_session" not in answer.headers.get("set-cookie", "")


def test_bad_and_revoked_tokens_do_not_sign_in(web) -> None:
    from fastapi.testclient import TestClient

    for token in ("not-a-token", web.tokens["revoked"]):
        client = TestClient(web.client.app)
        form = client.get("/ui/login")
        answer = client.post("/ui/login", data={"token": token, "csrf_token": csrf_of(form.text)},
                             follow_redirects=False)
        assert answer.status_code == 401
        assert token not in answer.text
        assert "symbiose_session" not in answer.headers.get("set-cookie", "")


def test_cookies_are_httponly_samesite_lax_and_token_stays_out_of_urls(web) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web.client.app)
    form = client.get("/ui/login")
    assert re.search(r'<form method="post" action="/ui/login"', form.text)
    assert 'type="password"' in form.text
    answer = client.post("/ui/login", data={"token": web.tokens["rep"], "csrf_token": csrf_of(form.text)},
                         follow_redirects=False)
    assert answer.status_code == 303 and web.tokens["rep"] not in answer.headers["location"]
    session_cookie = [c for c in answer.headers.get_list("set-cookie") if c.startswith("symbiose_session=")]
    assert len(session_cookie) == 1
    attributes = session_cookie[0].lower()
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/ui" in attributes
    assert web.tokens["rep"] not in session_cookie[0]
    page = client.get("/ui/")
    assert web.tokens["rep"] not in page.text
    out = client.post("/ui/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_language_from_accept_language_and_switch(web) -> None:
    german = sign_in(web, "rep", **{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Meine Kunden" in german.get("/ui/").text
    switched = german.get("/ui/?lang=en")
    assert "My accounts" in switched.text
    assert "My accounts" in german.get("/ui/scoreboard").text  # remembered in a cookie
    english = sign_in(web, "rep", **{"Accept-Language": "en-US,en;q=0.9"})
    assert "My accounts" in english.get("/ui/").text
    assert "Kennzahlen" in english.get("/ui/scoreboard?lang=de").text


def test_pages_send_a_strict_content_security_policy_and_no_framing(web) -> None:
    client = sign_in(web, "rep")
    rep = web.scopes["rep"]["rep_id"]
    pages = ["/ui/login", "/ui/", f"/ui/accounts/{own_account(web, 'rep')}", "/ui/scoreboard",
             "/ui/static/htmx.min.js", "/ui/static/app.css", "/ui/no-such-page"]
    for url in pages:
        answer = client.get(url)
        headers = answer.headers
        policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'" and policy["default-src"] == "'none'", url
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY", url
        assert headers["referrer-policy"] == "same-origin", url
        if answer.headers["content-type"].startswith("text/html"):
            # Nothing inline that the policy would block: no script bodies, handlers or style attributes.
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=", answer.text), url
    chart = client.get(f"/ui/charts/revenue.svg?rep_id={rep}")
    assert chart.status_code == 200 and "script-src" not in chart.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in chart.headers["content-security-policy"]
    assert "script-src" not in web.client.get("/health").headers["content-security-policy"]


@pytest.fixture(scope="module")
def evil_web(tmp_path_factory, serving_snapshot):
    """The app over a snapshot where rep A's first account and rep A are named ``EVIL``."""
    directory = copy.copy(serving_snapshot.directory)
    directory._profile = directory._profile.copy()
    rep_a = None
    with fresh_database("sqlite", tmp_path_factory.mktemp("evil")) as url:
        from tests.serving.conftest import two_reps_in_two_regions

        rep_a = two_reps_in_two_regions(serving_snapshot)[0]
        pos = directory.rep_accounts(rep_a)[0]
        directory._profile["name"] = ""
        directory._profile.iloc[pos, directory._profile.columns.get_loc("name")] = EVIL
        directory.rep_names = {**directory.rep_names, rep_a: EVIL}
        snapshot = dataclasses.replace(serving_snapshot, directory=directory)
        with running_api(url, snapshot, auth_cache_seconds=0) as running:
            yield running, str(directory.accounts[pos])


def test_names_with_markup_are_escaped_everywhere(evil_web) -> None:
    web, account = evil_web
    for user in ("rep", "admin"):
        client = sign_in(web, user)
        pages = [client.get(f"/ui/accounts/{account}"), client.get(f"/ui/?q={account}"),
                 client.get(f"/ui/scoreboard?rep_id={web.scopes['rep']['rep_id']}"),
                 client.get(f"/ui/charts/revenue.svg?rep_id={web.scopes['rep']['rep_id']}"),
                 client.get(f"/ui/?q={EVIL}")]
        for answer in pages:
            assert answer.status_code == 200, answer.url
            assert "<script>alert" not in answer.text, answer.url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;" in pages[0].text


def test_revoked_user_is_signed_out_on_the_next_request(evil_web) -> None:
    from serving.store.users import add_user, revoke_user

    web, _account = evil_web
    with web.runtime.sessions() as session:
        _user, token = add_user(session, name="leaving", role="admin")
    web.tokens["leaving"] = token
    client = sign_in(web, "leaving")
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    with web.runtime.sessions() as session:
        revoke_user(session, "leaving")
    assert client.get("/ui/", follow_redirects=False).status_code == 303
