"""A rep's day in a real browser (Playwright driving Debian's Chromium), in English and German, on
a laptop (1366×800) and a phone (390×844): the day list with due dates, search by company name,
an account with its contacts, reasons and talking points, snooze / note / outcome / undo on a
card, read-only marketing cards and minor cards. Screenshots go to a temporary directory
(``SYMBIOSE_SCREENSHOTS`` to choose another); no console errors, no horizontal scrolling."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from tests.serving.web.conftest import account_where, has_marketing_action
from tests.serving.web.test_web_browser import (  # noqa: F401  (fixtures)
    _page,
    _sign_in,
    browser,
    live,
    pytestmark,
)

SCREENS = Path(os.environ.get("SYMBIOSE_SCREENSHOTS") or Path(tempfile.gettempdir()) / "symbiose-screens")
SIZES = {"desktop": {"viewport": {"width": 1366, "height": 800}},
         "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}
WORDS = {
    "en": {"day": "My day", "due": "Due", "snoozed": "Snoozed until", "reached": "Reached",
           "done": "Done: Reached", "marketing": "planned by marketing", "why": "Why this action",
           "talk": "Talking points", "crm": "Open in CRM", "credit": "Credit limit", "minor": "minor"},
    "de": {"day": "Mein Tag", "due": "Fällig", "snoozed": "Zurückgestellt bis", "reached": "Erreicht",
           "done": "Erledigt: Erreicht", "marketing": "vom Marketing geplant", "why": "Warum diese Aktion",
           "talk": "Gesprächspunkte", "crm": "Im CRM öffnen", "credit": "Kreditlimit", "minor": "geringfügig"},
}


def _shot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1"), \
        f"horizontal scrolling on {page.url}"


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_reps_day_in_the_browser(web, live, browser, lang: str, size: str) -> None:  # noqa: F811
    base, _access = live
    words = WORDS[lang]
    errors: list[str] = []
    context, page = _page(browser, errors, **SIZES[size])
    _sign_in(page, base, web.tokens["rep"])
    page.goto(f"{base}/ui/?lang={lang}")
    assert page.locator("h1").inner_text() == words["day"]
    rows = page.locator("tr[data-account]")
    assert rows.count() >= 2
    assert page.locator("td.due").first.inner_text().strip() not in ("", "–")
    assert words["due"] in page.content()
    _no_sideways_scroll(page)
    _shot(page, f"day-{lang}-{size}")

    # Search by company name in all accounts (htmx swaps the rows).
    account = rows.first.get_attribute("data-account")
    directory = web.runtime.snapshot.directory
    name = str(directory.attribute("name", [directory.position(account)])[0])
    page.goto(f"{base}/ui/?view=all")
    page.fill("#q", name)
    page.locator(f"tr[data-account='{account}']").wait_for(timeout=10_000)
    assert page.locator("tr[data-account]").count() >= 1
    _shot(page, f"search-{lang}-{size}")

    # The account: contacts, labelled attributes, reasons and talking points on the rep's card.
    page.goto(f"{base}/ui/")
    page.locator(f"tr[data-account='{account}'] a").first.click()
    page.wait_for_url(re.compile(r".*/ui/accounts/.*"))
    assert page.locator("h1").inner_text().startswith(name)
    assert page.locator("#contact a[href^='tel:']").count() == 1
    assert page.locator("#contact a[href^='mailto:']").count() == 1
    assert page.locator("#contact a", has_text=words["crm"]).get_attribute("href").startswith("https://")
    assert words["credit"] in page.content() and "credit_limit_eur" not in page.content()
    card = page.locator("article.card:has(button[value='done:reached'])").first
    card_id = card.get_attribute("id")
    assert card.locator(".why-this li").count() >= 1 and words["why"] in card.inner_text()
    assert 2 <= card.locator(".talking-points li").count() <= 3 and words["talk"] in card.inner_text()
    _no_sideways_scroll(page)
    _shot(page, f"account-{lang}-{size}")

    # Snooze, then undo.
    card.locator("details.snooze summary").click()
    card.locator("details.snooze button[value=snoozed]").click()
    snoozed = page.locator(f"#{card_id} .status")
    snoozed.wait_for(timeout=10_000)
    assert words["snoozed"] in snoozed.inner_text()
    _shot(page, f"snoozed-{lang}-{size}")
    page.locator(f"#{card_id} button[value=undone]").click()
    page.locator(f"#{card_id} button[value=accepted]").wait_for(timeout=10_000)

    # A note and the call's outcome, then undo.
    card = page.locator(f"#{card_id}")
    card.locator("details.note-field summary").click()
    card.locator("textarea[name=note]").fill("Rückruf am Montag")
    card.locator("button[value='done:reached']").click()
    page.locator(f"#{card_id}.closed").wait_for(timeout=10_000)
    closed = page.locator(f"#{card_id}").inner_text()
    assert words["done"] in closed and "Rückruf am Montag" in closed
    _shot(page, f"outcome-{lang}-{size}")
    page.locator(f"#{card_id} button[value=undone]").click()
    page.locator(f"#{card_id} button[value=accepted]").wait_for(timeout=10_000)

    # Marketing's actions are read-only for the rep; minor ones are marked.
    planned = account_where(web, "rep", has_marketing_action)
    page.goto(f"{base}/ui/accounts/{planned}")
    marketing_card = page.locator("article.card.planned").first
    assert words["marketing"] in marketing_card.inner_text()
    assert marketing_card.locator("button").count() == 0
    minor_value = web.runtime.settings.minor_value
    small = account_where(web, "rep", lambda s: any(x.channel != "none" and x.expected_incremental_margin < minor_value
                                                    for x in s))
    page.goto(f"{base}/ui/accounts/{small}")
    assert words["minor"] in page.locator("article.card.minor .minor-badge").first.inner_text()
    _no_sideways_scroll(page)
    _shot(page, f"marketing-minor-{lang}-{size}")
    context.close()
    assert errors == [], errors
