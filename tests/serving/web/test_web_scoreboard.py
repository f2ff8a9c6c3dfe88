"""The scoreboard's funnel stays right and cheap with a long decision log."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from serving.access import Access
from serving.auth import Principal
from serving.store.tables import Decision, Feedback
from serving.web.funnel_counts import OVERLAP, funnel_counts
from serving.web.scoreboard import funnel, rep_accounts
from tests.serving.web.conftest import csrf_of, own_account, sign_in

LOG_ROWS = 200_000


def _fill_log(web, n: int, start: int = 0, as_of: datetime | None = None) -> None:
    """``n`` decision rows over every account (a few distinct suggestions per account), shown
    under the served snapshot's as-of unless ``as_of`` is given."""
    accounts = web.runtime.snapshot.suggestions.account_ids.astype(str)
    now = as_of or web.runtime.snapshot.as_of.to_pydatetime()
    picked = np.random.default_rng(start).integers(0, len(accounts), size=n)
    rows = [{"suggestion_id": f"s{a}-{(i + start) % 7}", "account_id": str(accounts[a]), "rank": 1,
             "channel": "phone", "offer_id": None, "discount_pct": 0.0, "executed_by": "rep", "p_convert": 0.1,
             "p_convert_baseline": 0.05, "expected_incremental_margin": 1.0, "propensity": 1.0,
             "model_version": "m/1", "as_of": now, "requested_at": now + timedelta(seconds=i), "user_id": None}
            for i, a in enumerate(picked.tolist())]
    with web.runtime.sessions() as session:
        session.execute(insert(Decision), rows)
        session.commit()


def _access(web, user: str) -> Access:
    scope = web.scopes[user]
    return Access(Principal(0, user, scope["role"], scope["rep_id"], scope["region"]))


def _distinct_shown(web, accounts: list[str]) -> int:
    """Distinct suggestions of ``accounts`` shown under the served snapshot's as-of."""
    with web.runtime.sessions() as session:
        return int(session.execute(select(func.count(func.distinct(Decision.suggestion_id)))
                                   .where(Decision.account_id.in_(accounts))
                                   .where(Decision.as_of == web.runtime.snapshot.as_of.to_pydatetime())
                                   ).scalar_one())


def test_funnel_reads_only_new_log_rows_and_matches_a_full_count(web, monkeypatch: pytest.MonkeyPatch) -> None:
    import serving.web.funnel_counts as funnel_module

    read: list[object] = []  # one entry per decision-log row a refresh reads
    period_key = funnel_module.period_key
    monkeypatch.setattr(funnel_module, "period_key", lambda as_of: read.append(as_of) or period_key(as_of))
    _fill_log(web, LOG_ROWS)
    rep_own = rep_accounts(web.runtime, _access(web, "rep"), web.scopes["rep"]["rep_id"])
    counts = funnel_counts(web.runtime.sessions)
    first = len(read)
    assert funnel(web.runtime, rep_own, counts)["shown"] == _distinct_shown(web, rep_own)

    _fill_log(web, 50, start=LOG_ROWS)
    read.clear()
    counts = funnel_counts(web.runtime.sessions)
    # A refresh reads the rows added since the last one (plus OVERLAP), not the whole log.
    assert first >= LOG_ROWS and len(read) <= 50 + OVERLAP < LOG_ROWS, (first, len(read))
    assert funnel(web.runtime, rep_own, counts)["shown"] == _distinct_shown(web, rep_own)


def test_scoreboard_counts_feedback_as_it_arrives(web) -> None:
    client = sign_in(web, "rep")
    account = own_account(web, "rep")
    page = client.get(f"/ui/accounts/{account}")
    sids = re.findall(r'name="suggestion_id" value="([0-9a-f]+)"', page.text)
    before = _funnel_cells(client.get("/ui/scoreboard").text)
    for sid, action in zip(sids[:2], ("accepted", "done"), strict=False):
        answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": action,
                                                   "csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"})
        assert answer.status_code == 200, answer.text
    after = _funnel_cells(client.get("/ui/scoreboard").text)
    with web.runtime.sessions() as session:
        done = session.execute(select(func.count()).select_from(Feedback).where(Feedback.status == "done")).scalar_one()
    assert after["accepted"] == before["accepted"] + min(len(sids), 2)
    assert after["done"] == before["done"] + (len(sids) >= 2) and done >= after["done"]
    assert after["shown"] >= before["shown"]


def _funnel_cells(html: str) -> dict[str, int]:
    """Own column of the funnel table: Shown, Accepted, Done, Converted (English page)."""
    cells = {}
    for key, label in (("shown", "Shown"), ("accepted", "Accepted"), ("done", "Done"), ("converted", "Converted")):
        found = re.search(rf"<th scope=\"row\">{label}</th><td class=\"num\">([\d,]+)</td>", html)
        assert found, f"no {label} row in the scoreboard"
        cells[key] = int(found.group(1).replace(",", ""))
    return cells


def test_shown_counts_each_suggestion_once_however_often_pages_are_reloaded(web) -> None:
    client = sign_in(web, "rep")
    account = own_account(web, "rep")
    client.get("/ui/")
    client.get(f"/ui/accounts/{account}")
    first = _funnel_cells(client.get("/ui/scoreboard").text)
    for _ in range(10):
        assert client.get("/ui/").status_code == 200
        assert client.get(f"/ui/accounts/{account}").status_code == 200
        client.get("/ui/scoreboard")
    assert _funnel_cells(client.get("/ui/scoreboard").text) == first
    rep_own = rep_accounts(web.runtime, _access(web, "rep"), web.scopes["rep"]["rep_id"])
    assert first["shown"] == _distinct_shown(web, rep_own) > 0


def test_suggestions_of_another_period_do_not_count(web) -> None:
    rep_own = rep_accounts(web.runtime, _access(web, "rep"), web.scopes["rep"]["rep_id"])
    before = funnel(web.runtime, rep_own)["shown"]
    _fill_log(web, 500, start=7_000_000, as_of=datetime(2020, 1, 6))
    assert funnel(web.runtime, rep_own)["shown"] == before == _distinct_shown(web, rep_own)


def test_region_average_is_the_average_of_the_regions_reps(web) -> None:
    from serving.web.scoreboard import periods, region_reps, revenue

    access = _access(web, "manager")
    snap = web.runtime.snapshot
    region = web.scopes["manager"]["region"]
    reps = region_reps(web.runtime, region)
    assert len(reps) >= 2
    p = periods(snap.as_of)
    each = [revenue(web.runtime, access, r, p.year_start, p.end)["own"]["total"] for r in reps]
    answer = revenue(web.runtime, access, reps[0], p.year_start, p.end)
    assert answer["reps_in_region"] == len(reps)
    assert answer["region_average"]["total"] == pytest.approx(sum(each) / len(reps))
    assert answer["region_average"]["total"] < sum(each)


def test_region_chart_shows_the_average_rep_and_follows_the_language(web) -> None:
    from serving.web.scoreboard import monthly_revenue, region_average_monthly, region_reps

    access = _access(web, "manager")
    region = web.scopes["manager"]["region"]
    total = monthly_revenue(web.runtime, access, region=region)
    average = region_average_monthly(web.runtime, access, region)
    assert np.allclose(average.to_numpy() * len(region_reps(web.runtime, region)), total.to_numpy())
    client = sign_in(web, "manager")
    html = client.get(f"/ui/scoreboard?rep_id={web.scopes['rep']['rep_id']}&lang=de").text
    charts = re.findall(r'<img src="(/ui/charts/[^"]+)"', html)
    assert len(charts) == 3 and all("lang=de" in c for c in charts), charts
    german = client.get(charts[0].replace("&amp;", "&"))
    english = client.get(charts[0].replace("&amp;", "&").replace("lang=de", "lang=en"))
    assert german.status_code == english.status_code == 200
    assert german.headers["content-type"].startswith("image/svg+xml") and german.text != english.text


def test_a_manager_sees_the_reps_name_not_you(web) -> None:
    rep_id = web.scopes["rep"]["rep_id"]
    name = web.runtime.snapshot.directory.rep_names.get(rep_id, rep_id)
    for lang, you in (("en", "You"), ("de", "Sie")):
        html = sign_in(web, "manager").get(f"/ui/scoreboard?rep_id={rep_id}&lang={lang}").text
        heads = re.findall(r'<th scope="col" class="num">([^<]+)</th>', html)
        assert heads and you not in heads and name in heads, heads
        assert "Bilanz" not in html
        own = sign_in(web, "rep").get(f"/ui/scoreboard?lang={lang}").text
        assert you in re.findall(r'<th scope="col" class="num">([^<]+)</th>', own)
