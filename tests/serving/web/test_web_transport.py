"""What the pages' transport promises: gzip for pages, static files and charts with the security
headers and the body limit still in place, the service worker served from ``/ui/`` with headers
that let it control the pages, and card answers that a repeated POST (an offline replay) stores
once."""

from __future__ import annotations

import gzip
import re

from sqlalchemy import func, select

from serving.settings import Settings
from serving.store.tables import Feedback
from tests.serving.web.conftest import csrf_of, own_account, sign_in

GZIP = {"Accept-Encoding": "gzip"}


def test_pages_static_files_and_charts_are_gzipped_with_security_headers(web) -> None:
    client = sign_in(web, "rep")
    account = own_account(web, "rep")
    for path in ("/ui/", f"/ui/accounts/{account}", "/ui/scoreboard", "/ui/static/app.css",
                 "/ui/static/htmx.min.js", "/ui/static/app.js", f"/ui/charts/funnel.svg?rep_id={web.scopes['rep']['rep_id']}"):
        answer = client.get(path, headers=GZIP)
        assert answer.status_code == 200, (path, answer.status_code)
        assert answer.headers.get("content-encoding") == "gzip", path
        assert "Accept-Encoding" in answer.headers.get("vary", ""), path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["content-security-policy"].startswith("default-src 'none'"), path
    plain = client.get("/ui/static/app.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text.startswith("/*")


def test_gzip_really_shrinks_the_account_page(web) -> None:
    """httpx decodes gzip itself; the raw stream shows what went over the wire."""
    client = sign_in(web, "rep")
    account = own_account(web, "rep")
    with client.stream("GET", f"/ui/accounts/{account}", headers=GZIP) as answer:
        wire = b"".join(answer.iter_raw())
    html = gzip.decompress(wire)
    assert b"<!doctype html>" in html and len(wire) < len(html) / 3


def test_body_limit_still_refuses_an_oversized_form(web) -> None:
    client = sign_in(web, "rep")
    too_big = "x" * (Settings().max_body_bytes + 10)
    answer = client.post("/ui/feedback", data={"suggestion_id": too_big}, headers=GZIP)
    assert answer.status_code == 413


def test_service_worker_is_served_for_the_pages_scope(web) -> None:
    answer = web.client.get("/ui/sw.js", headers=GZIP)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/ui/"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "addEventListener(\"fetch\"" in answer.text


def _feedback_rows(web, key: str) -> int:
    with web.runtime.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Feedback)
                                   .where(Feedback.idempotency_key == key)).scalar_one())


def test_a_replayed_card_answer_is_stored_once(web) -> None:
    client = sign_in(web, "rep")
    page = client.get(f"/ui/accounts/{own_account(web, 'rep')}")
    sid = re.findall(r'name="suggestion_id" value="([0-9a-f]+)"', page.text)[0]
    form = {"suggestion_id": sid, "action": "accepted", "csrf_token": csrf_of(page.text)}
    key = "offline-replay-0001"
    first = client.post("/ui/feedback", data=form, headers={"HX-Request": "true", "Idempotency-Key": key})
    again = client.post("/ui/feedback", data=form, headers={"HX-Request": "true", "Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert "idempotency-replayed" not in first.headers and again.headers["idempotency-replayed"] == "true"
    assert f'id="s-{sid}"' in again.text
    assert _feedback_rows(web, key) == 1
    other = client.post("/ui/feedback", data={**form, "action": "done"},
                        headers={"HX-Request": "true", "Idempotency-Key": key})
    assert other.status_code == 409 and _feedback_rows(web, key) == 1
    without_js = client.post("/ui/feedback", data=form, headers={"Idempotency-Key": key}, follow_redirects=False)
    assert without_js.status_code == 303 and without_js.headers["idempotency-replayed"] == "true"
    bad = client.post("/ui/feedback", data=form, headers={"HX-Request": "true", "Idempotency-Key": "a b"})
    assert bad.status_code == 422
