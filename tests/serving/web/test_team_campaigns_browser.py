"""The team page and the campaign pages in a real browser (Playwright driving Debian's Chromium),
in English and German, at laptop (1366×800) and phone (390×844) size: a manager compares the
region's reps, drills down and downloads CSV; marketing previews, saves, exports and cancels
campaigns, sees why a plan would contact nobody, reads a report with its chart; a rep sees the
campaign's name on the card. No console errors and no horizontal scrolling; screenshots go to a
temporary directory."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.serving.web import test_web_browser as driven
from tests.serving.web.test_web_browser import _page, _sign_in

pytestmark = driven.pytestmark
#: The live server and the browser of the rep pages' browser tests (module-scoped fixtures).
live = driven.live
browser = driven.browser

SIZES = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
CASES = [(size, lang) for size in SIZES for lang in ("en", "de")]
WORDS = {"en": {"team": "Team of region", "empty": "would contact nobody", "cancelled": "Cancelled",
                "campaign": "Campaign: "},
         "de": {"team": "Team der Region", "empty": "würde niemanden erreichen", "cancelled": "Abgebrochen",
                "campaign": "Kampagne: "}}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _context(browser, errors: list[str], size: str, lang: str):
    extra = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    return _page(browser, errors, viewport=SIZES[size], locale="de-DE" if lang == "de" else "en-US",
                 accept_downloads=True, **extra)


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"page is {width[0]} px wide in a {width[1]} px window"


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


@pytest.mark.parametrize(("size", "lang"), CASES)
def test_team_page(web, live, browser, shots, size: str, lang: str) -> None:
    from serving.web.scoreboard import region_reps

    base, _access = live
    errors: list[str] = []
    context, page = _context(browser, errors, size, lang)
    _sign_in(page, base, web.tokens["manager"])
    page.goto(f"{base}/ui/team?lang={lang}")
    region = web.scopes["manager"]["region"]
    assert WORDS[lang]["team"] in page.locator("h1").inner_text()
    reps = page.locator("#team tbody tr").evaluate_all("rows => rows.map(r => r.dataset.rep)")
    assert reps == region_reps(web.runtime, region)
    _no_horizontal_scroll(page)
    if size == "desktop":  # the whole table fits its panel: no column hidden behind a scroll bar
        fit = page.evaluate("() => { const t = document.getElementById('team'); "
                            "return [t.scrollWidth, t.parentElement.clientWidth]; }")
        assert fit[0] <= fit[1], f"team table {fit[0]} px wide in a {fit[1]} px panel"
    page.screenshot(path=str(shots / f"team-{size}-{lang}.png"), full_page=True)

    page.select_option("select[name=period]", "month")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"period=month"))
    with page.expect_download() as download:
        page.click("#team-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Region;" if lang == "de" else "Region,")
    assert len(text.splitlines()) == 1 + len(reps)

    first = page.locator("#team tbody tr").first
    with page.expect_download() as download:
        first.locator("a[download]").click()
    listed = pd.read_csv(download.value.path(), sep=";" if lang == "de" else ",",
                         decimal="," if lang == "de" else ".", encoding="utf-8-sig")
    assert len(listed) > 0
    first.locator("th a").click()
    page.wait_for_url(re.compile(r"/ui/\?rep_id="))
    shown = set(page.locator("tr[data-account]").evaluate_all("rows => rows.map(r => r.dataset.account)"))
    assert shown and shown <= set(listed.iloc[:, 0].astype(str))
    page.screenshot(path=str(shots / f"team-drill-down-{size}-{lang}.png"), full_page=True)
    context.close()

    rep_errors: list[str] = []
    rep_context, rep_page = _context(browser, rep_errors, size, lang)
    _sign_in(rep_page, base, web.tokens["rep"])
    assert rep_page.goto(f"{base}/ui/team").status == 404
    rep_context.close()
    assert errors == [], errors


def _plan(page, base: str, lang: str, name: str, channels: list[str], shots: Path, shot: str) -> str:
    """Fill the plan form, preview, save; returns the saved campaign's page URL."""
    page.goto(f"{base}/ui/campaigns?lang={lang}")
    page.click("#plan-campaign")
    page.wait_for_url(re.compile(r"/ui/campaigns/new"))
    page.fill("#name", name)
    for channel in channels:
        page.check(f"input[name=channels][value={channel}]")
    page.fill("#holdout_pct", "10")
    page.click("#preview-button")
    page.locator("#preview-result").wait_for(timeout=30_000)
    assert _number(page.locator("#preview-contacted").inner_text()) > 0
    assert page.locator("#preview-audience tbody tr").count() > 0
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"{shot}-preview.png"), full_page=True)
    page.click("#save-button")
    page.wait_for_url(re.compile(r"/ui/campaigns/[0-9a-f]{16}$"), timeout=30_000)
    return page.url


@pytest.mark.parametrize(("size", "lang"), CASES)
def test_campaign_pages(web, live, browser, shots, size: str, lang: str) -> None:
    base, _access = live
    errors: list[str] = []
    context, page = _context(browser, errors, size, lang)
    _sign_in(page, base, web.tokens["marketing"])
    visits = _plan(page, base, lang, f"Visits {size} {lang}", ["phone", "visit"], shots, f"visits-{size}-{lang}")
    assert page.locator("#campaign-status").get_attribute("data-status") == "active"
    with page.expect_download() as download:
        page.click("#export-excel")
    exported = pd.read_csv(download.value.path(), sep=";", decimal=",", encoding="utf-8-sig")
    assert set(exported["channel"]) <= {"phone", "visit"} and exported["p_convert"].between(0, 1).all()

    rep_user = next(u for u in ("rep", "rep_other") if web.scopes[u]["rep_id"] in set(exported["rep_id"]))
    mine = exported.loc[exported["rep_id"] == web.scopes[rep_user]["rep_id"], "account_id"].astype(str)
    rep_errors: list[str] = []
    rep_context, rep_page = _context(browser, rep_errors, size, lang)
    _sign_in(rep_page, base, web.tokens[rep_user])
    carded = None
    for account in mine:
        rep_page.goto(f"{base}/ui/accounts/{account}?lang={lang}")
        if rep_page.locator(".campaign-name").count():
            carded = account
            break
    assert carded is not None, "no card of the rep's campaign accounts names the campaign"
    assert rep_page.locator(".campaign-name").first.inner_text() == f"{WORDS[lang]['campaign']}Visits {size} {lang}"
    _no_horizontal_scroll(rep_page)
    rep_page.screenshot(path=str(shots / f"card-campaign-{size}-{lang}.png"), full_page=True)

    everything = _plan(page, base, lang, f"All {size} {lang}", [], shots, f"all-{size}-{lang}")
    page.goto(f"{base}/ui/campaigns/new")
    page.fill("#name", f"Nobody {size} {lang}")
    page.click("#preview-button")
    page.locator("#empty-reason").wait_for(timeout=30_000)
    reason = page.locator("#empty-reason").inner_text()
    assert WORDS[lang]["empty"] in reason and f"All {size} {lang}" in reason
    page.screenshot(path=str(shots / f"empty-{size}-{lang}.png"), full_page=True)
    page.click("#save-button")
    assert WORDS[lang]["empty"] in page.locator("#form-error").inner_text()

    page.goto(f"{base}/ui/campaigns")
    assert page.locator(f"#campaigns tr[data-campaign] >> text=Visits {size} {lang}").count() == 1
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"campaigns-{size}-{lang}.png"), full_page=True)
    for url in (visits, everything):
        page.goto(url)
        page.click("#cancel-form summary")
        page.click("#cancel-confirm")
        page.wait_for_url(url)
        assert page.locator("#campaign-status").get_attribute("data-status") == "cancelled"
        assert WORDS[lang]["cancelled"] in page.locator("#campaign-status").inner_text()
    rep_page.goto(f"{base}/ui/accounts/{carded}")
    assert rep_page.locator(".campaign-name").count() == 0
    rep_context.close()
    context.close()
    refused = [e for e in errors if "409 (Conflict)" in e]
    assert len(refused) == 1  # the refused save answers 409 with the form and the reason
    assert [e for e in errors if e not in refused] == [] and rep_errors == [], errors + rep_errors


@pytest.fixture(scope="module")
def measured_campaign(web) -> str:
    """A campaign planned 60 days before the data ends, so that outcomes are in."""
    from serving.api.campaign_views import planning_dataset, snapshot_recommendations
    from serving.campaigns.service import CampaignRequest, plan_and_store
    from serving.store.users import utcnow

    snap = web.runtime.snapshot
    with web.runtime.sessions() as session:
        campaign, _plan = plan_and_store(
            session, CampaignRequest(name="Spring mail", channels=["email", "webshop_banner"], holdout=0.5, seed=3),
            recommendations=snapshot_recommendations(snap.suggestions), dataset=planning_dataset(web.runtime),
            as_of=snap.as_of - pd.Timedelta(days=60), model_version=snap.model.version, user_id=None, now=utcnow())
    return campaign.id


@pytest.mark.parametrize(("size", "lang"), CASES)
def test_lift_report_with_chart(web, live, browser, shots, measured_campaign, size: str, lang: str) -> None:
    base, _access = live
    errors: list[str] = []
    context, page = _context(browser, errors, size, lang)
    _sign_in(page, base, web.tokens["marketing"])
    page.goto(f"{base}/ui/campaigns/{measured_campaign}?lang={lang}")
    assert page.locator("#report tbody tr").count() >= 2
    assert "nan" not in page.locator("#report").inner_text().lower()
    page.wait_for_load_state("networkidle")
    chart = page.locator("#report-chart")
    assert chart.evaluate("img => img.naturalWidth > 0")
    assert f"lang={lang}" in (chart.get_attribute("src") or "")
    _no_horizontal_scroll(page)
    page.screenshot(path=str(shots / f"report-{size}-{lang}.png"), full_page=True)
    context.close()
    assert errors == [], errors
