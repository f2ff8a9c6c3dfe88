"""The rep pages: sign-in, my accounts, account page, feedback in place, scoreboard, charts."""

from __future__ import annotations

import re

from tests.serving.web.conftest import csrf_of, own_account, sign_in


def test_sign_in_lands_on_my_accounts_with_only_own_accounts(web) -> None:
    client = sign_in(web, "rep")
    page = client.get("/ui/")
    assert page.status_code == 200
    listed = set(re.findall(r'data-account="([^"]+)"', page.text))
    directory = web.runtime.snapshot.directory
    own = {str(directory.accounts[p]) for p in directory.rep_accounts(web.scopes["rep"]["rep_id"])}
    assert listed and listed <= own


def test_account_page_and_feedback_updates_the_card(web) -> None:
    client = sign_in(web, "rep")
    account = own_account(web, "rep")
    page = client.get(f"/ui/accounts/{account}")
    assert page.status_code == 200, page.text
    sids = re.findall(r'name="suggestion_id" value="([0-9a-f]+)"', page.text)
    assert sids, "no actionable suggestion on the account page"
    answer = client.post("/ui/feedback", data={"suggestion_id": sids[0], "action": "accepted",
                                               "csrf_token": csrf_of(page.text)},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.text.lstrip().startswith("<article") and "<html" not in answer.text
    assert 'class="card accepted"' in answer.text
    again = client.get(f"/ui/accounts/{account}")
    assert f'id="s-{sids[0]}"' in again.text and "card accepted" in again.text


def test_scoreboard_and_charts(web) -> None:
    client = sign_in(web, "rep")
    board = client.get("/ui/scoreboard")
    assert board.status_code == 200, board.text
    assert 'id="scoreboard"' in board.text
    rep = web.scopes["rep"]["rep_id"]
    chart = client.get(f"/ui/charts/revenue.svg?rep_id={rep}")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert client.get(f"/ui/charts/funnel.svg?rep_id={rep}").status_code == 200
