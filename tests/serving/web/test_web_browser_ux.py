"""The workspace in Debian's Chromium at a laptop's (1366x800) and a phone's (390x844) size, in
English and German: the scoreboard fits and its charts are readable and in the page's language,
every text keeps AA contrast, a skip link leads to the content, focus stays on a card after an
action, static files arrive gzipped; without network the last loaded list and account pages
stay readable and card answers wait in a queue that is sent once, exactly once, when the network
is back. Screenshots go to a temporary directory.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from serving.store.tables import Feedback
from serving.web.charts import FONT_PT
from serving.web.i18n import Texts
from tests.serving.web import test_web_browser as driver
from tests.serving.web.conftest import account_where, has_rep_action

pytestmark = driver.pytestmark
live = driver.live  # the same served app and browser fixtures, for this module's app
browser = driver.browser
_page, _sign_in = driver._page, driver._sign_in

SIZES = {"desktop": {"viewport": {"width": 1366, "height": 800}},
         "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}
QUEUE = "symbiose.feedback-queue.v1"
MIN_TEXT_PX = 11.0

CONTRAST_JS = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = ({r, g, b}) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const background = el => { for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const bad = []; let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || el.getClientRects().length === 0) continue;
    const control = el.matches('button, input, select, summary, a');
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!text && !control) continue;
    checked += 1;
    const fg = parse(style.color), bg = background(el);
    if (text && ratio(fg, bg) < 4.5) bad.push(`${el.tagName}.${el.className} text ${ratio(fg, bg).toFixed(2)}`);
    if (el.matches('button, input, select') && style.borderStyle !== 'none' && parseFloat(style.borderWidth) > 0) {
      const own = parse(style.backgroundColor), outer = background(el.parentElement);
      const sameFill = !own || own.a === 0 || ratio(own, outer) < 1.1;
      const border = parse(style.borderColor);
      if (sameFill && ratio(border, outer) < 3) bad.push(`${el.tagName}.${el.className} border ${ratio(border, outer).toFixed(2)}`);
    }
  }
  return {bad, checked};
}"""

FIT_JS = """() => [...document.querySelectorAll('#scoreboard table')].flatMap(t => {
  const box = t.parentElement;
  const out = [];
  if (t.scrollWidth > box.clientWidth + 1) out.push(`table ${t.scrollWidth} > ${box.clientWidth}`);
  for (const th of t.querySelectorAll('th')) if (th.scrollWidth > th.clientWidth + 1) out.push(`th ${th.textContent}`);
  return out;
})"""

CHART_TEXT_JS = """(fontPt) => [...document.querySelectorAll('.chart img')].map(img => ({
  src: img.getAttribute('src'), loaded: img.complete && img.naturalWidth > 0,
  px: fontPt * 4 / 3 * img.clientWidth / img.naturalWidth }))"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def _track(page, errors: list[str]) -> None:
    """Failed answers, with their address (the console names only the status)."""
    page.context.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)


def _contrast_ok(page, where: str) -> None:
    found = page.evaluate(CONTRAST_JS)
    assert found["checked"] > 10, where
    assert found["bad"] == [], (where, found["bad"][:10])


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "de"])
def test_scoreboard_fits_is_readable_and_speaks_the_pages_language(web, live, browser, shots, lang, size) -> None:
    base, _access = live
    texts = Texts(lang)
    errors: list[str] = []
    rep_id = web.scopes["rep"]["rep_id"]
    name = web.runtime.snapshot.directory.rep_names.get(rep_id, rep_id)
    for user, expected_head in (("manager", name), ("rep", texts("you"))):
        context, page = _page(browser, errors, **SIZES[size])
        _sign_in(page, base, web.tokens[user])
        query = f"?rep_id={rep_id}&lang={lang}" if user == "manager" else f"?lang={lang}"
        page.goto(f"{base}/ui/scoreboard{query}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text().startswith(texts("scoreboard"))
        heads = page.locator("#scoreboard thead th").all_inner_texts()
        assert expected_head in heads and texts("region_average") in heads, heads
        if user == "manager":
            assert texts("you") not in heads
        assert page.evaluate(FIT_JS) == [], (lang, size, page.evaluate(FIT_JS))
        charts = page.evaluate(CHART_TEXT_JS, FONT_PT)
        assert len(charts) == 3 and all(c["loaded"] for c in charts), charts
        assert all(f"lang={lang}" in c["src"] for c in charts), charts
        assert min(c["px"] for c in charts) >= MIN_TEXT_PX, charts
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _contrast_ok(page, f"scoreboard {user} {lang} {size}")
        page.screenshot(path=str(shots / f"scoreboard-{user}-{lang}-{size}.png"), full_page=True)
        context.close()
    assert errors == [], errors


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "de"])
def test_contrast_skip_link_focus_and_gzip_on_the_reps_pages(web, live, browser, shots, lang, size) -> None:
    base, _access = live
    texts = Texts(lang)
    errors: list[str] = []
    context, page = _page(browser, errors, **SIZES[size])
    _track(page, errors)
    user = "rep" if lang == "en" else "rep_other"  # with a fresh account per case: the module's
    _sign_in(page, base, web.tokens[user])  # service keeps the answers of the cases before
    with page.expect_response(lambda r: r.url.endswith("/ui/static/app.css")) as css:
        listing = page.goto(f"{base}/ui/?lang={lang}")
    assert css.value.headers.get("content-encoding") == "gzip"
    assert listing.headers.get("content-encoding") == "gzip"
    assert listing.headers.get("x-frame-options") == "DENY"
    _contrast_ok(page, f"list {lang} {size}")
    assert page.locator("th:not([scope])").count() == 0
    page.screenshot(path=str(shots / f"list-{lang}-{size}.png"), full_page=True)

    account = account_where(web, user, has_rep_action, skip=list(SIZES).index(size))
    page.goto(f"{base}/ui/accounts/{account}?lang={lang}")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.get_attribute("class") == "skip-link" and skip.inner_text() == texts("skip_to_content")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    _contrast_ok(page, f"account {lang} {size}")
    assert page.locator("th:not([scope])").count() == 0

    card = page.locator("article.card:has(button[value=accepted])").first
    card_id = card.get_attribute("id")
    card.locator("button[value=accepted]").click()
    page.locator(f"#{card_id}.accepted").wait_for(timeout=10_000)
    page.wait_for_function(f"() => document.activeElement && document.activeElement.id === {json.dumps(card_id)}", polling=100)
    page.locator(f"#{card_id} button[value^=done]").first.click()  # done, or a call's outcome
    page.locator(f"#{card_id}.closed").wait_for(timeout=10_000)
    page.wait_for_function(f"() => document.activeElement && document.activeElement.id === {json.dumps(card_id)}", polling=100)
    _contrast_ok(page, f"account after feedback {lang} {size}")
    page.screenshot(path=str(shots / f"account-focus-{lang}-{size}.png"), full_page=True)
    _undo(page, card_id)
    context.close()
    assert errors == [], errors


def _undo(page, card_id: str) -> None:
    """Take the card's answer back, so the module's other cases find the rep's cards unanswered."""
    page.locator(f"#{card_id} button[value=undone]").click()
    page.locator(f"#{card_id} button[value=accepted]").wait_for(timeout=10_000)


def _rows_of(web, suggestion_id: str) -> list[tuple[str, str | None]]:
    with web.runtime.sessions() as session:
        return [tuple(r) for r in session.execute(select(Feedback.status, Feedback.idempotency_key)
                                                  .where(Feedback.suggestion_id == suggestion_id)
                                                  .order_by(Feedback.id)).all()]


def _row_count(web) -> int:
    with web.runtime.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Feedback)).scalar_one())


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["en", "de"])
def test_offline_pages_and_a_queue_sent_exactly_once(web, live, browser, shots, lang, size) -> None:
    base, _access = live
    texts = Texts(lang)
    errors: list[str] = []
    user = "rep" if size == "desktop" else "rep_other"
    context, page = _page(browser, errors, **SIZES[size])
    _track(page, errors)
    _sign_in(page, base, web.tokens[user])
    list_url = f"{base}/ui/?lang={lang}"
    page.goto(list_url)
    assert page.evaluate("() => navigator.serviceWorker.ready.then(r => r.active.state)") in ("activating", "activated")
    page.goto(list_url)  # now through the service worker, which keeps a copy
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")
    # Not the phone links; an account whose call is possible today (its card has the buttons).
    links = page.locator("tr[data-account]:not(:has(.why-later)) a[href^='/ui/accounts/']")
    account_url = base + links.nth(1 if lang == "de" else 0).get_attribute("href")
    page.goto(account_url)
    card = page.locator("article.card:has(button[value=accepted])").first
    card_id = card.get_attribute("id")
    suggestion_id = card_id.removeprefix("s-")
    earlier = _rows_of(web, suggestion_id)  # answers of the module's cases before, taken back

    context.set_offline(True)
    page.goto(list_url)
    assert page.locator("tr[data-account]").count() > 0
    page.locator(".offline-banner").wait_for()
    assert page.locator(".offline-banner").inner_text().startswith(texts("offline_banner", time="").split(":")[0])
    page.screenshot(path=str(shots / f"offline-list-{lang}-{size}.png"), full_page=True)
    page.goto(account_url)
    page.locator(".offline-banner").wait_for()
    before = _row_count(web)
    page.locator(f"#{card_id} button[value=accepted]").click()
    page.locator(f"#{card_id} .queued").wait_for()
    assert page.locator(f"#{card_id} .queued").inner_text() == texts("offline_queued")
    assert page.locator(f"#{card_id} button[value^=done]").first.is_disabled()
    queued = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(QUEUE)})"))
    assert len(queued) == 1 and queued[0]["card"] == card_id and len(queued[0]["key"]) >= 16
    assert ["action", "accepted"] in queued[0]["fields"]
    assert _row_count(web) == before and _rows_of(web, suggestion_id) == earlier
    page.screenshot(path=str(shots / f"offline-queued-{lang}-{size}.png"), full_page=True)

    context.set_offline(False)
    page.wait_for_function(f"() => localStorage.getItem({json.dumps(QUEUE)}) === null", timeout=30_000, polling=100)
    page.locator(f"#{card_id}.accepted").wait_for(timeout=10_000)
    assert page.locator("#offline-status").inner_text() == texts("offline_sent")
    assert _rows_of(web, suggestion_id) == [*earlier, ("accepted", queued[0]["key"])]

    # The same answer sent again (another tab, a retry after a lost reply) stores nothing new.
    page.evaluate(f"localStorage.setItem({json.dumps(QUEUE)}, {json.dumps(json.dumps(queued))})")
    page.evaluate("window.symbioseReplay()")
    page.wait_for_function(f"() => localStorage.getItem({json.dumps(QUEUE)}) === null", timeout=30_000, polling=100)
    assert _rows_of(web, suggestion_id) == [*earlier, ("accepted", queued[0]["key"])]
    assert _row_count(web) == before + 1
    page.screenshot(path=str(shots / f"offline-sent-{lang}-{size}.png"), full_page=True)
    _undo(page, card_id)

    page.goto(f"{base}/ui/?lang={lang}")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/ui/login"))
    assert page.evaluate("caches.has('symbiose-pages-v1').then(async has => !has || "
                         "(await (await caches.open('symbiose-pages-v1')).keys()).every("
                         "r => !r.url.includes('/ui/accounts/')))")
    context.close()
    assert [e for e in errors if "page error" in e] == [], errors
