"""CSV downloads of the pages' lists: the account list and a rep's day exactly as filtered and
sorted on the page, every page of it, in the caller's scope; the scoreboard's tables; English and
German spreadsheet style; a download link on each page."""

from __future__ import annotations

import io
import re
from html import unescape

import pandas as pd
import pytest

from tests.serving.web.conftest import sign_in

ROWS = re.compile(r'<tr data-account="([^"]+)">')
CSV_LINK = re.compile(r'<a class="button export-csv" id="(accounts|scoreboard)-csv" href="([^"]+)"[^>]*aria-label="([^"]+)"')


def _read(answer, lang: str = "en") -> pd.DataFrame:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv") and answer.content.startswith(b"\xef\xbb\xbf")
    german = lang == "de"
    return pd.read_csv(io.BytesIO(answer.content), sep=";" if german else ",", decimal="," if german else ".",
                       encoding="utf-8-sig", dtype={0: str})


def _all_pages(client, url: str) -> list[str]:
    """The account ids of every page of the list at ``url``, following its "next" links."""
    found: list[str] = []
    while url:
        html = client.get(url).text
        found += ROWS.findall(html)
        nxt = re.search(r'<a href="(\?[^"]*)">(?:Next|Weiter)', html)
        url = "/ui/" + unescape(nxt.group(1)) if nxt else ""
    return found


def _link(html: str) -> tuple[str, str]:
    found = CSV_LINK.search(html)
    assert found, "no CSV download link on the page"
    return unescape(found.group(2)), unescape(found.group(3))


def test_manager_list_export_holds_every_page_in_the_page_order(web) -> None:
    manager = sign_in(web, "manager")
    html = manager.get("/ui/").text
    url, label = _link(html)
    assert url == "/ui/export/accounts.csv" and label.startswith("Download CSV: this list, all")
    listed = _read(manager.get(url))
    everything = _all_pages(manager, "/ui/")
    assert len(everything) > 50, "the list needs more than one page for this test"
    assert listed["Account"].tolist() == everything
    region = web.scopes["manager"]["region"]
    assert set(listed["Region"]) == {region}  # the manager's region only

    channel = listed["Channel"].mode().iloc[0]
    code = next(c for c in web.runtime.snapshot.suggestions.cols["channel"] if _channel(c) == channel)
    filtered_html = manager.get(f"/ui/?channel={code}&q=").text
    url, _label = _link(filtered_html)
    assert url == f"/ui/export/accounts.csv?channel={code}"
    filtered = _read(manager.get(url))
    assert filtered["Account"].tolist() == _all_pages(manager, f"/ui/?channel={code}")
    assert set(filtered["Channel"]) == {channel}
    margins = filtered["Expected incremental margin (EUR)"].tolist()
    assert margins == sorted(margins, reverse=True)


def _channel(code: str) -> str:
    from serving.web.i18n import Texts

    return Texts("en").channel(code)


def test_rep_day_export_has_due_dates_in_the_page_language(web) -> None:
    rep = sign_in(web, "rep")
    html = rep.get("/ui/").text
    url, _label = _link(html)
    assert url == "/ui/export/accounts.csv"
    day = _read(rep.get(url))
    assert day["Account"].tolist() == _all_pages(rep, "/ui/")
    assert "Rep" not in day.columns and "Due" in day.columns
    assert day["Due"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert pd.to_datetime(day["Due"]).is_monotonic_increasing

    german = _read(rep.get(url + "?lang=de"), "de")
    assert german["Kunde"].tolist() == day["Account"].tolist()
    assert german["Fällig"].str.fullmatch(r"\d{2}\.\d{2}\.\d{4}").all()
    assert pd.to_datetime(german["Fällig"], format="%d.%m.%Y").tolist() == pd.to_datetime(day["Due"]).tolist()
    margin = "Erwarteter Zusatzdeckungsbeitrag (EUR)"
    assert german[margin].tolist() == pytest.approx(day["Expected incremental margin (EUR)"].tolist(), abs=0.006)

    every = rep.get("/ui/?view=all").text
    url, _label = _link(every)
    assert url == "/ui/export/accounts.csv?view=all"
    mine = _read(rep.get(url))
    assert mine["Account"].tolist() == _all_pages(rep, "/ui/?view=all") and "Due" not in mine.columns
    directory = web.runtime.snapshot.directory
    own = {str(directory.accounts[p]) for p in directory.rep_accounts(web.scopes["rep"]["rep_id"])}
    assert set(mine["Account"]) == own
    other = web.scopes["rep_other"]["rep_id"]  # a rep's rep_id parameter is ignored: still their own
    assert set(_read(rep.get(f"/ui/export/accounts.csv?view=all&rep_id={other}"))["Account"]) == own


def test_scoreboard_export_matches_the_page_and_follows_scope(web) -> None:
    from serving.web.scoreboard import scoreboard

    manager = sign_in(web, "manager")
    rep_id = web.scopes["rep"]["rep_id"]
    html = manager.get(f"/ui/scoreboard?rep_id={rep_id}").text
    url, label = _link(html)
    assert url == f"/ui/scoreboard.csv?rep_id={rep_id}" and label.startswith("Download CSV: scoreboard of")
    table = _read(manager.get(url))
    assert len(table) == 12 and list(table.columns[[0, 1, 3]]) == ["Table", "Figure", "Region average"]
    from tests.serving.web.test_team_pages import _access

    board = scoreboard(web.runtime, _access(web), rep_id)
    shown = table[(table["Table"] == "Suggestions") & (table["Figure"] == "Shown")]
    assert shown.iloc[0, 2] == board["funnel"]["shown"]
    total = table[table["Figure"] == "Total"]
    assert total.iloc[1, 2] == pytest.approx(board["year"]["own"]["total"], abs=0.006)

    german = manager.get(f"/ui/scoreboard.csv?rep_id={rep_id}&lang=de").content.decode("utf-8-sig")
    assert german.splitlines()[0].startswith("Tabelle;Kennzahl;")
    other = web.scopes["rep_other"]["rep_id"]
    assert manager.get(f"/ui/scoreboard.csv?rep_id={other}").status_code == 404
    rep = sign_in(web, "rep")
    assert _read(rep.get("/ui/scoreboard.csv")).shape == (12, 4)  # a rep: their own
    assert rep.get(f"/ui/scoreboard.csv?rep_id={other}").status_code == 404
    assert sign_in(web, "rep_other").get("/ui/scoreboard.csv").status_code == 200
    assert "scoreboard-csv" not in manager.get("/ui/scoreboard").text  # no rep chosen: nothing to download


def test_team_links_are_labelled(web) -> None:
    manager = sign_in(web, "manager")
    html = manager.get("/ui/team?lang=de").text
    assert re.search(r'id="team-csv"[^>]*aria-label="CSV herunterladen: Teamtabelle der Region ', html)
    assert re.search(r'download aria-label="CSV: Kundenliste von [^"]+">CSV</a>', html)
