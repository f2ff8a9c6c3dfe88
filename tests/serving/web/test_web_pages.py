"""The rep pages: sign-in, my accounts, account page, feedback in place, scoreboard, charts."""

from __future__ import annotations

import re

from tests.serving.web.conftest import account_where, csrf_of, has_rep_action, sign_in


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
    account = account_where(web, "rep", has_rep_action)
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


def test_german_account_page_shows_its_reasons_in_german(web) -> None:
    from html import unescape

    from features.reason_texts import reasons_from_json

    service = web.runtime.snapshot.suggestions
    client = sign_in(web, "rep", **{"Accept-Language": "de-DE,de;q=0.9"})
    directory = web.runtime.snapshot.directory
    accounts = [str(directory.accounts[p]) for p in directory.rep_accounts(web.scopes["rep"]["rep_id"])][:5]
    checked = 0
    for account in accounts:
        page = client.get(f"/ui/accounts/{account}")
        assert page.status_code == 200, page.text
        shown = re.findall(r'id="s-([0-9a-f]+)"', page.text)
        items = [unescape(i) for i in re.findall(r"<li>(.*?)</li>", page.text, flags=re.S)]
        codes = service.reason_codes(account)
        for sid in shown:
            if sid not in codes:
                continue
            reasons = reasons_from_json(codes[sid])
            for reason in reasons:
                currency = web.runtime.snapshot.currency
                english, german = reason.text("en", currency), reason.text("de", currency)
                assert german in items, (german, items)
                assert english not in items, english
                checked += 1
        visible = re.sub(r"<[^>]*>", " ", page.text)
        assert "expected" not in visible and "extra margin" not in visible
        if web.runtime.snapshot.currency == "EUR":  # German money style: "1.234 €", "3,59 €"
            amounts = re.findall(r"<strong>([^<]*€)</strong>", page.text)
            assert amounts and all(re.fullmatch(r"-?\d{1,3}(\.\d{3})*(,\d\d)? €", a) for a in amounts), amounts
    assert checked >= 3, "too few reasons on the pages to check"


def test_admin_list_filters_by_channel_and_sorts_by_value(web) -> None:
    from serving.access import Access
    from serving.auth import Principal
    from serving.web.listing import Filters, account_listing

    admin = Access(Principal(user_id=0, name="admin", role="admin"))
    everything = account_listing(web.runtime, admin, Filters(), limit=10_000)
    values = [r["suggestion"].expected_incremental_margin for r in everything.rows]
    assert values == sorted(values, reverse=True) and everything.total == len(web.runtime.snapshot.directory.accounts)
    by_channel: dict[str, int] = {}
    for row in everything.rows:
        by_channel[row["suggestion"].channel] = by_channel.get(row["suggestion"].channel, 0) + 1
    assert sorted(by_channel) == everything.channels and len(by_channel) >= 2
    for channel, count in by_channel.items():
        page = account_listing(web.runtime, admin, Filters(channel=channel), limit=5)
        assert page.total == count and len(page.rows) == min(5, count)
        assert all(r["suggestion"].channel == channel for r in page.rows)


def test_a_manager_reads_the_reps_cards_as_the_reps_not_their_own(web) -> None:
    """A rep's card says "by you"; the same card on a manager's screen says "by the rep"."""
    account = account_where(web, "rep", has_rep_action)
    for user, lang, own, other in (("rep", "en", "(by you)", "(by the rep)"),
                                   ("manager", "en", "(by the rep)", "(by you)"),
                                   ("manager", "de", "(durch den Außendienst)", "(durch Sie)")):
        page = sign_in(web, user, **{"Accept-Language": lang}).get(f"/ui/accounts/{account}")
        assert page.status_code == 200, page.text
        assert own in page.text and other not in page.text, (user, lang)
