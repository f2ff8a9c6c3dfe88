"""Every role × every page and chart × own side / other side: the one access policy
(``serving.access``) decides, and figures follow the caller's scope.

Side a: rep A's account, rep A and rep A's region; side b: rep B's (another region). rep sees side
a only, rep_other side b only, manager region a, manager_other region b, marketing and admin all.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest

from serving.access import Access
from serving.auth import Principal
from serving.web.i18n import Texts
from serving.web.scoreboard import periods, scoreboard
from tests.serving.conftest import fresh_database, running_api
from tests.serving.web.conftest import own_account, sign_in

#: user -> (own side, sees every side)
USERS = {"rep": ("a", False), "rep_other": ("b", False), "manager": ("a", False),
         "manager_other": ("b", False), "marketing": ("a", True), "admin": ("a", True)}
PAGES = ["account", "scoreboard", "revenue_rep", "revenue_region", "funnel", "listing"]


def _sides(web) -> dict[str, dict[str, str]]:
    directory = web.runtime.snapshot.directory
    out = {}
    for side, user in (("a", "rep"), ("b", "rep_other")):
        account = own_account(web, user)
        out[side] = {"account": account, "rep": web.scopes[user]["rep_id"] or "",
                     "region": str(directory.region[directory.position(account)])}
    return out


def _url(page: str, target: dict[str, str]) -> str:
    return {"account": f"/ui/accounts/{target['account']}",
            "scoreboard": f"/ui/scoreboard?rep_id={target['rep']}",
            "revenue_rep": f"/ui/charts/revenue.svg?rep_id={target['rep']}",
            "revenue_region": f"/ui/charts/revenue.svg?region={target['region']}",
            "funnel": f"/ui/charts/funnel.svg?rep_id={target['rep']}",
            "listing": f"/ui/?q={target['account']}"}[page]


def _owns_in_region(web, rep: str, region: str) -> bool:
    directory = web.runtime.snapshot.directory
    return bool((directory.region[directory.rep_accounts(rep)] == region).any())


@pytest.fixture(scope="module")
def clients(web):
    return {user: sign_in(web, user) for user in USERS}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("whose", ["own", "other"])
def test_page_scope_matrix(web, clients, page: str, user: str, whose: str) -> None:
    own_side, sees_all = USERS[user]
    sides = _sides(web)
    side = own_side if whose == "own" else ("b" if own_side == "a" else "a")
    target = sides[side]
    answer = clients[user].get(_url(page, target))
    allowed = whose == "own" or sees_all
    role = web.scopes[user]["role"]
    if not allowed and role == "manager" and page in ("scoreboard", "revenue_rep", "funnel"):
        # A manager sees the figures of every rep with accounts in their region (cut to the region).
        allowed = _owns_in_region(web, target["rep"], sides[own_side]["region"])
    if page == "listing":
        assert answer.status_code == 200
        assert (f'/ui/accounts/{target["account"]}' in answer.text) == allowed, (user, whose)
        return
    if allowed:
        assert answer.status_code == 200, (page, user, whose, answer.text[:300])
    else:
        assert answer.status_code == 404, (page, user, whose)
        assert target["account"] not in answer.text


@pytest.mark.parametrize("user", list(USERS))
def test_campaigns_are_for_planners_only(web, user: str) -> None:
    answer = web.client.get("/v1/campaigns/0123456789abcdef", headers=web.headers(user))
    planner = web.scopes[user]["role"] in ("marketing", "admin")
    assert answer.status_code == (404 if planner else 403), answer.text


@pytest.mark.parametrize("user", list(USERS))
def test_attribution_rows_stay_in_scope(web, user: str) -> None:
    body = web.client.get("/v1/attribution?from=2020-01-01&to=2030-01-01&by=region",
                          headers=web.headers(user)).json()
    keys = {row["key"] for row in body["rows"]}
    scope = web.scopes[user]
    if scope["role"] == "manager":
        assert keys <= {scope["region"]}
    elif scope["role"] == "rep":
        assert {row["scope"] for row in body["rows"]} <= {"own", "region_total"}
    else:
        assert len(keys) > 1


@pytest.fixture(scope="module")
def straddling(tmp_path_factory, serving_snapshot):
    """The app over a snapshot in which rep B (region b) owns one account of region a with orders:
    the manager of region a may see rep B's figures, but only those of region a."""
    from tests.serving.conftest import two_reps_in_two_regions

    _rep_a, rep_b, region_a, _region_b = two_reps_in_two_regions(serving_snapshot)
    lines = serving_snapshot.attributed_lines()
    directory = copy.copy(serving_snapshot.directory)
    in_a = np.flatnonzero(directory.region == region_a)
    ordered = set(lines["account_id"].astype(str))
    pos = next(int(p) for p in in_a if str(directory.accounts[p]) in ordered)
    account = str(directory.accounts[pos])
    directory.rep_id = directory.rep_id.copy()
    directory.rep_id[pos] = rep_b
    directory._by_rep = {**directory._by_rep, rep_b: np.sort(np.append(directory._by_rep.get(
        rep_b, np.zeros(0, dtype=np.int64)), pos))}
    lines = lines.copy()
    lines.loc[lines["account_id"].astype(str) == account, "rep_id"] = rep_b
    snapshot = dataclasses.replace(serving_snapshot, directory=directory, attributed=lines)
    with fresh_database("sqlite", tmp_path_factory.mktemp("straddling")) as url, \
            running_api(url, snapshot, auth_cache_seconds=0) as running:
        yield running, rep_b, region_a


def _access(api, user: str) -> Access:
    scope = api.scopes[user]
    return Access(Principal(1, user, scope["role"], scope["rep_id"], scope["region"]))


def test_a_manager_sees_another_regions_rep_only_within_their_region(straddling) -> None:
    api, rep_b, region_a = straddling
    lines = api.runtime.snapshot.attributed_lines()
    p = periods(api.runtime.snapshot.as_of)
    in_year = (lines["ordered_at"] >= p.year_start) & (lines["ordered_at"] < p.end)
    of_rep = in_year & (lines["rep_id"].astype("str") == rep_b).to_numpy(dtype=bool, na_value=False)
    in_region = (lines["region"].astype("str") == region_a).to_numpy(dtype=bool, na_value=False)
    whole = float(lines.loc[of_rep, "net_amount"].sum())
    regional = float(lines.loc[of_rep & in_region, "net_amount"].sum())
    assert 0 < regional < whole, "the scenario needs figures of rep B inside and outside region a"

    board = scoreboard(api.runtime, _access(api, "manager"), rep_b)
    assert board["year"]["own"]["total"] == pytest.approx(regional)
    assert board["region"] == region_a
    assert scoreboard(api.runtime, _access(api, "admin"), rep_b)["year"]["own"]["total"] == pytest.approx(whole)

    manager = sign_in(api, "manager")
    page = manager.get(f"/ui/scoreboard?rep_id={rep_b}")
    assert page.status_code == 200
    money = Texts("en").money
    currency = api.runtime.snapshot.currency
    assert money(regional, currency) in page.text and money(whole, currency) not in page.text
    # The chart of the same rep is the region's too: it differs from the whole one admin sees.
    chart = manager.get(f"/ui/charts/revenue.svg?rep_id={rep_b}")
    admin_chart = sign_in(api, "admin").get(f"/ui/charts/revenue.svg?rep_id={rep_b}")
    assert chart.status_code == admin_chart.status_code == 200
    assert chart.text != admin_chart.text
    # The manager of the other region sees rep B whole? No: only rep B's figures in region b.
    other = scoreboard(api.runtime, _access(api, "manager_other"), rep_b)
    assert other["year"]["own"]["total"] == pytest.approx(whole - regional)
    assert pd.notna(other["region"])
