"""The team page: a manager's own region only, admins any, reps and marketing none; distinct
suggestions and open tasks per rep; CSV downloads safe for spreadsheets (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pandas as pd
import pytest

from tests.serving.conftest import BACKENDS, Api, fresh_database, running_api
from tests.serving.web.conftest import csrf_of, sign_in

TEAM_ROWS = re.compile(r'<tr data-rep="([^"]+)">')


@pytest.fixture(scope="module", params=BACKENDS)
def team_web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, serving_snapshot
             ) -> Iterator[Api]:
    with fresh_database(request.param, tmp_path_factory.mktemp("team")) as url, \
            running_api(url, serving_snapshot) as running:
        yield running


def _cell(html: str, rep: str, key: str) -> int:
    row = html.split(f'<tr data-rep="{rep}">', 1)[1].split("</tr>", 1)[0]
    found = re.search(rf'data-key="{key}">([^<]*)<', row)
    assert found, f"no {key} cell for {rep}"
    return int(found.group(1).replace(",", "").replace(".", ""))


def test_who_sees_which_team(team_web) -> None:
    from serving.web.scoreboard import region_reps

    manager = sign_in(team_web, "manager")
    region = team_web.scopes["manager"]["region"]
    page = manager.get("/ui/team")
    assert page.status_code == 200, page.text
    assert TEAM_ROWS.findall(page.text) == region_reps(team_web.runtime, region)
    other = team_web.scopes["manager_other"]["region"]
    assert manager.get(f"/ui/team?region={other}").status_code == 404
    assert manager.get(f"/ui/team.csv?region={other}").status_code == 404
    foreign_rep = team_web.scopes["rep_other"]["rep_id"]
    assert manager.get(f"/ui/export/accounts.csv?rep_id={foreign_rep}").status_code == 404
    for user in ("rep", "marketing"):
        client = sign_in(team_web, user)
        assert client.get("/ui/team").status_code == 404
        assert client.get("/ui/team.csv").status_code == 404
    admin = sign_in(team_web, "admin")
    assert TEAM_ROWS.findall(admin.get(f"/ui/team?region={other}").text) == region_reps(team_web.runtime, other)
    assert 'href="/ui/team"' in page.text and 'href="/ui/team"' not in sign_in(team_web, "rep").get("/ui/").text


def test_shown_counts_distinct_suggestions_and_open_tasks_follow_feedback(team_web) -> None:
    manager = sign_in(team_web, "manager")
    rep = team_web.scopes["rep"]["rep_id"]
    manager.get(f"/ui/?rep_id={rep}")  # the rep's list: one suggestion per account is shown
    shown = _cell(manager.get("/ui/team").text, rep, "shown")
    assert shown > 0
    for _ in range(3):
        manager.get(f"/ui/?rep_id={rep}")
    page = manager.get("/ui/team").text
    assert _cell(page, rep, "shown") == shown  # reloading shows the same suggestions again
    tasks = _cell(page, rep, "open_tasks")

    client = sign_in(team_web, "rep")
    listing = client.get("/ui/").text
    account = re.search(r'data-account="([^"]+)"', listing).group(1)
    card = client.get(f"/ui/accounts/{account}").text
    sid = re.search(r'name="suggestion_id" value="([0-9a-f]+)"', card).group(1)
    csrf = csrf_of(card)
    assert client.post("/ui/feedback", data={"suggestion_id": sid, "action": "accepted", "csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    assert _cell(manager.get("/ui/team").text, rep, "open_tasks") == tasks + 1
    client.post("/ui/feedback", data={"suggestion_id": sid, "action": "done", "csrf_token": csrf},
                follow_redirects=False)
    page = manager.get("/ui/team").text
    assert _cell(page, rep, "open_tasks") == tasks and _cell(page, rep, "done") >= 1


def test_csv_downloads_follow_the_page_language(team_web) -> None:
    manager = sign_in(team_web, "manager")
    english = manager.get("/ui/team.csv?period=year")
    assert english.status_code == 200 and english.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in english.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(english.content), encoding="utf-8-sig")
    assert frame["Region"].eq(team_web.scopes["manager"]["region"]).all()
    assert {"Offline (EUR)", "Online credited (EUR)", "Shown", "Open tasks"} <= set(frame.columns)

    german = manager.get("/ui/team.csv?period=year&lang=de")
    text = german.content.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("Region;") and "Offene Aufgaben" in header
    back = pd.read_csv(io.StringIO(text), sep=";", decimal=",")
    assert back["Offline (EUR)"].tolist() == pytest.approx(frame["Offline (EUR)"].tolist(), abs=0.01)
    assert any("," in line.split(";")[4] for line in text.splitlines()[1:])  # decimal commas
    asked = manager.get("/ui/team.csv?sep=%2C&lang=de").content.decode("utf-8-sig")
    assert asked.splitlines()[0].startswith("Region,")

    rep = team_web.scopes["rep"]["rep_id"]
    accounts = manager.get(f"/ui/export/accounts.csv?rep_id={rep}&lang=de")
    listed = pd.read_csv(io.BytesIO(accounts.content), sep=";", decimal=",", encoding="utf-8-sig")
    directory = team_web.runtime.snapshot.directory
    own = {str(directory.accounts[p]) for p in directory.rep_accounts(rep)}
    region = team_web.scopes["manager"]["region"]
    expected = {a for a in own if directory.region[directory.position(a)] == region}
    assert set(listed["Kunde"].astype(str)) == expected
    assert listed["Erwarteter Zusatzdeckungsbeitrag (EUR)"].dtype.kind == "f"


def _post(client, sid: str, action: str, csrf: str) -> None:
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": action, "csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_undone_feedback_leaves_the_team_page_and_the_scoreboard(team_web) -> None:
    from serving.web.pages import latest_status
    from serving.web.scoreboard import funnel, rep_accounts

    manager = sign_in(team_web, "manager")
    rep = team_web.scopes["rep"]["rep_id"]
    client = sign_in(team_web, "rep")
    listing = client.get("/ui/?view=all").text
    for account in reversed(re.findall(r'data-account="([^"]+)"', listing)):  # a card nobody answered yet
        card = client.get(f"/ui/accounts/{account}").text
        sids = re.findall(r'name="suggestion_id" value="([0-9a-f]+)"', card)
        if sids and latest_status(team_web.runtime, sids[-1:]) == {}:
            sid = sids[-1]
            break
    else:
        raise AssertionError("no unanswered card among the rep's accounts")
    csrf = csrf_of(card)
    keys = ("accepted", "done", "open_tasks")

    def counts() -> tuple[dict[str, int], dict[str, int]]:
        page = manager.get("/ui/team").text
        board = funnel(team_web.runtime, rep_accounts(team_web.runtime, _access(team_web), rep))
        return {k: _cell(page, rep, k) for k in keys}, {k: board[k] for k in ("accepted", "done")}

    before, board_before = counts()
    _post(client, sid, "accepted", csrf)
    team_now, board_now = counts()
    assert team_now == {**before, "accepted": before["accepted"] + 1, "open_tasks": before["open_tasks"] + 1}
    assert board_now == {**board_before, "accepted": board_before["accepted"] + 1}
    _post(client, sid, "undone", csrf)
    assert counts() == (before, board_before)  # taken back: neither accepted nor an open task
    _post(client, sid, "done", csrf)
    team_now, board_now = counts()
    assert team_now == {**before, "accepted": before["accepted"] + 1, "done": before["done"] + 1}
    assert board_now == {"accepted": board_before["accepted"] + 1, "done": board_before["done"] + 1}
    _post(client, sid, "undone", csrf)
    assert counts() == (before, board_before)
    _post(client, sid, "dismissed:other", csrf)
    assert counts() == (before, board_before)  # a dismissal is neither accepted nor done


def _access(api: Api):
    """The manager's access scope (the scoreboard's figures as the manager sees them)."""
    from serving.access import Access
    from serving.auth import Principal

    scope = api.scopes["manager"]
    return Access(Principal(user_id=0, name="manager", role="manager", rep_id=None, region=scope["region"]))
