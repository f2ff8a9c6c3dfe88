"""The download links of the lists in a real browser (Playwright driving Debian's Chromium), in
English and German, at laptop (1366×800) and phone (390×844) size: a rep downloads their day, a
manager the filtered account list (every page of it) and a rep's scoreboard. Each link is
visible, named for assistive technology in the page's language, keeps the page free of horizontal
scrolling, and downloads exactly the rows the page lists, in German spreadsheet style on a German
page. Screenshots go to a temporary directory."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.serving.web import test_web_browser as driven
from tests.serving.web.test_team_campaigns_browser import CASES, _context, _no_horizontal_scroll
from tests.serving.web.test_web_browser import _sign_in

pytestmark = driven.pytestmark
live = driven.live
browser = driven.browser
LABELS = {"en": {"list": "Download CSV: this list, all ", "scoreboard": "Download CSV: scoreboard of ",
                 "account": "Account", "next": "Next"},
          "de": {"list": "CSV herunterladen: diese Liste, alle ", "scoreboard": "CSV herunterladen: Kennzahlen von ",
                 "account": "Kunde", "next": "Weiter"}}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export-screenshots")


def _download(page, selector: str, lang: str) -> pd.DataFrame:
    link = page.locator(selector)
    assert link.is_visible()
    with page.expect_download() as download:
        link.click()
    german = lang == "de"
    return pd.read_csv(download.value.path(), sep=";" if german else ",", decimal="," if german else ".",
                       encoding="utf-8-sig", dtype={0: str})


def _listed(page, lang: str) -> list[str]:
    """The account ids of every page of the list shown, following its "next" links."""
    found: list[str] = []
    while True:
        found += page.locator("tr[data-account]").evaluate_all("rows => rows.map(r => r.dataset.account)")
        following = page.get_by_role("link", name=LABELS[lang]["next"], exact=True)
        if following.count() == 0:
            return found
        following.click()
        page.wait_for_url(re.compile(r"offset=\d+"))


@pytest.mark.parametrize(("size", "lang"), CASES)
def test_rep_downloads_their_day(web, live, browser, shots, size: str, lang: str) -> None:
    base, _access = live
    errors: list[str] = []
    context, page = _context(browser, errors, size, lang)
    _sign_in(page, base, web.tokens["rep"])
    page.goto(f"{base}/ui/?lang={lang}")
    link = page.get_by_role("link", name=re.compile("^" + re.escape(LABELS[lang]["list"])))
    assert link.count() == 1 and link.get_attribute("id") == "accounts-csv"
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"rep-day-{size}-{lang}.png"), full_page=True)
    day = _download(page, "#accounts-csv", lang)
    due = "Fällig" if lang == "de" else "Due"
    assert due in day.columns
    assert day[due].str.fullmatch(r"\d{2}\.\d{2}\.\d{4}" if lang == "de" else r"\d{4}-\d{2}-\d{2}").all()
    assert day[LABELS[lang]["account"]].tolist() == _listed(page, lang)
    context.close()
    assert errors == [], errors


@pytest.mark.parametrize(("size", "lang"), CASES)
def test_manager_downloads_the_filtered_list_and_a_scoreboard(web, live, browser, shots, size: str,
                                                             lang: str) -> None:
    base, _access = live
    errors: list[str] = []
    context, page = _context(browser, errors, size, lang)
    _sign_in(page, base, web.tokens["manager"])
    page.goto(f"{base}/ui/?lang={lang}")
    everything = _download(page, "#accounts-csv", lang)
    assert everything[LABELS[lang]["account"]].tolist() == _listed(page, lang)
    assert len(everything) > 50  # more than one page
    page.goto(f"{base}/ui/?lang={lang}")
    rep_id = web.scopes["rep"]["rep_id"]
    page.select_option("select[name=rep_id]", rep_id)
    page.wait_for_url(re.compile(rf"rep_id={rep_id}"))
    page.locator(f'#accounts-csv[href*="rep_id={rep_id}"]').wait_for()  # the link follows the filter
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"manager-list-{size}-{lang}.png"), full_page=True)
    filtered = _download(page, "#accounts-csv", lang)
    assert set(filtered["Außendienst-Nr." if lang == "de" else "Rep id"].astype(str)) == {rep_id}
    assert filtered[LABELS[lang]["account"]].tolist() == _listed(page, lang)

    page.goto(f"{base}/ui/scoreboard?rep_id={rep_id}&lang={lang}")
    link = page.get_by_role("link", name=re.compile("^" + re.escape(LABELS[lang]["scoreboard"])))
    assert link.count() == 1
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"scoreboard-{size}-{lang}.png"), full_page=True)
    table = _download(page, "#scoreboard-csv", lang)
    assert table.shape == (12, 4)
    shown_on_page = page.locator("#scoreboard table").last.locator("tbody tr").first.locator("td").first
    assert shown_on_page.inner_text().replace(".", "").replace(",", "") == str(int(table.iloc[8, 2]))
    context.close()
    assert errors == [], errors
