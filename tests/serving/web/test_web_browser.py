"""The rep pages in a real browser (Playwright driving Debian's Chromium) against a real server.

Sign in as a rep, see only own accounts, open one, accept a suggestion and see the card change,
see the scoreboard; sign in as another rep and get the not-found page for the first rep's
account. No console errors anywhere; screenshots go to ``test-artifacts/``; the access log
never holds a token.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.web.conftest import account_where, has_rep_action

CHROMIUM = os.environ.get("SYMBIOSE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
                       reason=f"Chromium not found at {CHROMIUM}: run `make install-dev` (installs "
                              "Debian's chromium) or set SYMBIOSE_CHROMIUM"),
]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live(web) -> Iterator[tuple[str, _Collect]]:
    """The web fixture's app served by uvicorn on a free loopback port, with its access log."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(web.client.app, host="127.0.0.1", port=port, log_level="info",
                                           access_log=True, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    access = _Collect()
    logging.getLogger("uvicorn.access").addHandler(access)
    try:
        yield f"http://127.0.0.1:{port}", access
    finally:
        logging.getLogger("uvicorn.access").removeHandler(access)
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _page(browser, errors: list[str], **context_kw):
    context = browser.new_context(**context_kw)
    page = context.new_page()
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    return context, page


def _sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#token", token)
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(f"{base}/ui/")


def test_rep_workflow_in_the_browser(web, live, browser) -> None:
    base, access = live
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    context, page = _page(browser, errors, viewport={"width": 1280, "height": 900})
    _sign_in(page, base, web.tokens["rep"])
    assert "/ui/" in page.url and "token" not in page.url
    listed = set(page.locator("tr[data-account]").evaluate_all("rows => rows.map(r => r.dataset.account)"))
    directory = web.runtime.snapshot.directory
    own = {str(directory.accounts[p]) for p in directory.rep_accounts(web.scopes["rep"]["rep_id"])}
    assert listed and listed <= own
    page.screenshot(path=str(ARTIFACTS / "my-accounts.png"), full_page=True)

    account = account_where(web, "rep", has_rep_action)
    page.goto(f"{base}/ui/accounts/{account}")
    cards = page.locator("article.card:has(button[value=accepted])")
    assert cards.count() >= 1
    card_id = cards.first.get_attribute("id")
    page.screenshot(path=str(ARTIFACTS / "account.png"), full_page=True)
    cards.first.locator("button[value=accepted]").click()
    page.locator(f"#{card_id}.accepted").wait_for(timeout=10_000)
    assert page.locator(f"#{card_id} button[value=accepted]").count() == 0
    assert page.locator(f"#{card_id} .status").is_visible()
    page.locator(f"#{card_id} button[value^=done]").first.click()
    page.locator(f"#{card_id}.closed").wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "account-after-feedback.png"), full_page=True)

    page.goto(f"{base}/ui/scoreboard")
    page.locator("#scoreboard").wait_for()
    page.wait_for_load_state("networkidle")
    images = page.locator(".chart img")
    assert images.count() == 3
    assert all(images.nth(i).evaluate("img => img.naturalWidth > 0") for i in range(images.count()))
    page.screenshot(path=str(ARTIFACTS / "scoreboard.png"), full_page=True)

    phone, phone_page = _page(browser, errors, viewport={"width": 390, "height": 844}, is_mobile=True)
    _sign_in(phone_page, base, web.tokens["rep"])
    phone_page.goto(f"{base}/ui/accounts/{account}?lang=de")
    assert "Vorschläge" in phone_page.content()
    phone_page.screenshot(path=str(ARTIFACTS / "account-phone-de.png"), full_page=True)
    phone.close()
    context.close()

    other_errors: list[str] = []
    other, other_page = _page(browser, other_errors)
    _sign_in(other_page, base, web.tokens["rep_other"])
    answer = other_page.goto(f"{base}/ui/accounts/{account}")
    assert answer.status == 404
    assert account not in other_page.content()
    other_page.screenshot(path=str(ARTIFACTS / "other-rep-not-found.png"), full_page=True)
    other.close()

    assert errors == [], errors
    assert [e for e in other_errors if "404" not in e] == [], other_errors
    logged = "\n".join(access.lines)
    assert "/ui/accounts/" in logged
    for token in web.tokens.values():
        assert token not in logged
    assert not re.search(r"token=", logged)
