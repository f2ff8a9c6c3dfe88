"""The scoreboard's funnel stays right and cheap with a long decision log."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select

from serving.access import Access
from serving.auth import Principal
from serving.store.tables import Decision, Feedback
from serving.web.funnel_counts import OVERLAP, funnel_counts
from serving.web.scoreboard import funnel, rep_accounts
from tests.serving.web.conftest import csrf_of, own_account, sign_in

LOG_ROWS = 200_000


def _fill_log(web, n: int, start: int = 0) -> None:
    """``n`` decision rows over every account (a few distinct suggestions per account)."""
    accounts = web.runtime.snapshot.suggestions.account_ids.astype(str)
    now = datetime(2026, 1, 5)
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
    with web.runtime.sessions() as session:
        return int(session.execute(select(func.count(func.distinct(Decision.suggestion_id)))
                                   .where(Decision.account_id.in_(accounts))).scalar_one())


def test_funnel_reads_only_new_log_rows_and_matches_a_full_count(web) -> None:
    _fill_log(web, LOG_ROWS)
    rep_own = rep_accounts(web.runtime, _access(web, "rep"), web.scopes["rep"]["rep_id"])
    started = time.perf_counter()
    counts = funnel_counts(web.runtime.sessions)
    first = time.perf_counter() - started
    assert funnel(web.runtime, rep_own, counts)["shown"] == _distinct_shown(web, rep_own)

    _fill_log(web, 50, start=LOG_ROWS)
    again = []
    for _ in range(5):
        started = time.perf_counter()
        counts = funnel_counts(web.runtime.sessions)
        again.append(time.perf_counter() - started)
    # A refresh reads the rows added since the last one (plus OVERLAP), not the whole log.
    assert OVERLAP * 20 <= LOG_ROWS and min(again) < first / 5, (first, again)
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
        found = re.search(rf"<th>{label}</th><td class=\"num\">([\d,]+)</td>", html)
        assert found, f"no {label} row in the scoreboard"
        cells[key] = int(found.group(1).replace(",", ""))
    return cells
