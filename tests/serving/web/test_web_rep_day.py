"""A rep's day and the account page's cards: rep work ranked with due dates, marketing actions
read-only, snooze / note / outcome / undo as feedback, contacts people recognise, attributes in
the page's language, and reasons that compare the card's action with the account's others."""

from __future__ import annotations

import re
from html import unescape

from tests.serving.web.conftest import (
    account_where,
    csrf_of,
    has_marketing_action,
    has_rep_action,
    sign_in,
)


def _rows(html: str) -> list[str]:
    return re.findall(r'data-account="([^"]+)"', html)


def _card(html: str, sid: str) -> str:
    found = re.search(rf'<article[^>]*id="s-{sid}".*?</article>', html, flags=re.S)
    assert found, f"no card {sid}"
    return found.group(0)


def _cards(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in
            re.finditer(r'<article[^>]*id="s-([0-9a-f]+)"[^>]*data-channel="([^"]+)".*?</article>', html, flags=re.S)}


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html)))


def test_a_reps_day_lists_only_rep_work_worth_it_with_due_dates(web) -> None:
    from serving.access import Access
    from serving.auth import Principal
    from serving.web.listing import Filters, _due_dates, account_listing

    scope = web.scopes["rep"]
    access = Access(Principal(user_id=1, name="rep", role="rep", rep_id=scope["rep_id"]))
    day = account_listing(web.runtime, access, Filters(rep_day=True), limit=10_000)
    minor = web.runtime.settings.minor_value
    assert day.rows, "the rep has no call or visit worth it in the test data"
    values = [r["suggestion"].expected_incremental_margin for r in day.rows]
    assert values == sorted(values, reverse=True) and min(values) >= minor
    assert {r["suggestion"].executed_by for r in day.rows} == {"rep"}
    assert set(day.channels) <= {"phone", "visit"}
    # The capacity spread by rank, later only where a contact cap or quiet days hold an action back.
    spread = _due_dates(web.runtime.snapshot, scope["rep_id"], 0, len(day.rows))
    assert spread == sorted(spread) and all(d.weekday() < 5 for d in spread)
    capacity = web.runtime.snapshot.directory.rep_capacity.get(scope["rep_id"], 25)
    per_day = -(-capacity // 5)
    assert spread.count(spread[0]) == min(per_day, len(spread))
    for row, planned in zip(day.rows, spread, strict=True):
        why = row["due_why"]
        assert row["due"] == (planned if why is None else max(planned, why["day"]))

    client = sign_in(web, "rep")
    page = client.get("/ui/")
    assert page.status_code == 200
    assert "My day" in page.text and _rows(page.text) == [r["account_id"] for r in day.rows][:50]
    assert "Nothing now" not in page.text and 'value="none"' not in page.text
    everything = client.get("/ui/?view=all")
    assert "All my accounts" in everything.text and len(_rows(everything.text)) >= len(_rows(page.text))
    german = client.get("/ui/?lang=de")
    assert "Mein Tag" in german.text and "Fällig" in german.text


def test_search_finds_an_account_by_company_name(web) -> None:
    client = sign_in(web, "rep")
    page = client.get("/ui/?view=all")
    first = _rows(page.text)[0]
    name = str(web.runtime.snapshot.directory.attribute("name", [web.runtime.snapshot.directory.position(first)])[0])
    assert name
    found = client.get("/ui/", params={"view": "all", "q": name.split()[0].lower()})
    assert first in _rows(found.text)
    assert all(name.split()[0].lower() in _text(row).lower() for row in
               re.findall(r"<tr data-account.*?</tr>", found.text, flags=re.S))


def test_account_page_shows_contacts_labelled_attributes_and_offer_names(web) -> None:
    client = sign_in(web, "rep")
    account = account_where(web, "rep", lambda s: True)
    directory = web.runtime.snapshot.directory
    pos = directory.position(account)
    display = {c: str(directory.attribute(c, [pos])[0]) for c in
               ("name", "contact_name", "contact_phone", "contact_email", "crm_url")}
    page = client.get(f"/ui/accounts/{account}")
    html = page.text
    assert f"<h1>{display['name']}" in unescape(html)
    assert f'href="tel:{display["contact_phone"].replace(" ", "")}"' in html
    assert f'href="mailto:{display["contact_email"]}"' in html
    assert f'href="{display["crm_url"]}"' in html and "Open in CRM" in html
    text = _text(html)
    assert "credit_limit_eur" not in text and "segment" not in text and "Credit limit" in text
    assert not re.search(r"\d\.0\b", text), "numbers shown with a trailing .0"
    assert "Nothing now" not in text
    german = _text(client.get(f"/ui/accounts/{account}?lang=de").text)
    assert "Kreditlimit" in german and "Ansprechpartner" in german and "Im CRM öffnen" in german
    touched = account_where(web, "rep", lambda s: True, skip=0)
    offer_names = web.runtime.snapshot.offer_names
    for pos in directory.rep_accounts(web.scopes["rep"]["rep_id"]).tolist()[:40]:
        touches = directory.summary(pos)["recent_touches"]
        offered = [t["offer_id"] for t in touches if t["offer_id"] in offer_names]
        if offered:
            touched = str(directory.accounts[pos])
            break
    else:
        raise AssertionError("no rep account has a touch with a named offer")
    touches_html = client.get(f"/ui/accounts/{touched}").text.split("recent_touches")[-1]
    section = _text(touches_html.split(">Recent touches<")[-1])
    assert offer_names[offered[0]] in section and f" {offered[0]} " not in section


def test_marketing_actions_are_read_only_for_a_rep(web) -> None:
    client = sign_in(web, "rep")
    account = account_where(web, "rep", has_marketing_action)
    page = client.get(f"/ui/accounts/{account}")
    service = web.runtime.snapshot.suggestions
    marketing = [sid for sid in _cards(page.text)
                 if getattr(service.candidate(account, sid), "executed_by", None) == "marketing"]
    assert marketing
    for sid in marketing:
        card = _card(page.text, sid)
        assert "planned by marketing" in card and "<form" not in card and "<button" not in card
    answer = client.post("/ui/feedback", data={"suggestion_id": marketing[0], "action": "accepted",
                                               "csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"})
    assert answer.status_code == 422 and "Marketing carries out" in answer.text
    manager = sign_in(web, "manager")
    seen = manager.get(f"/ui/accounts/{account}")
    assert 'value="accepted"' in _card(seen.text, marketing[0])


def test_each_card_says_why_it_beats_the_others_and_gives_talking_points(web) -> None:
    client = sign_in(web, "rep")
    account = account_where(web, "rep", lambda s: has_rep_action(s) and len({x.channel for x in s}) >= 2)
    page = client.get(f"/ui/accounts/{account}")
    cards = {sid: card for sid, card in _cards(page.text).items() if 'data-channel="none"' not in card}
    assert len(cards) >= 2
    whys = {}
    for sid, card in cards.items():
        found = re.search(r'<ul class="why-this">(.*?)</ul>', card, flags=re.S)
        assert found, card
        whys[sid] = _text(found.group(1))
        assert "expected" in whys[sid]
    assert len(set(whys.values())) == len(whys), whys
    rep_cards = [c for c in cards.values() if 'data-channel="phone"' in c or 'data-channel="visit"' in c]
    assert rep_cards
    for card in rep_cards:
        points = re.search(r'<ul class="talking-points">(.*?)</ul>', card, flags=re.S)
        assert points and 2 <= points.group(1).count("<li>") <= 3
        assert all(f'value="done:{o}"' in card for o in ("reached", "not_reached", "order_expected"))


def test_cards_below_the_minor_value_are_marked(web) -> None:
    client = sign_in(web, "rep")
    minor = web.runtime.settings.minor_value
    account = account_where(web, "rep", lambda s: any(x.channel != "none" and x.expected_incremental_margin < minor
                                                      for x in s))
    page = client.get(f"/ui/accounts/{account}")
    service = web.runtime.snapshot.suggestions
    for sid, card in _cards(page.text).items():
        s = service.candidate(account, sid)
        if s is None or s.channel == "none":
            continue
        assert ("minor" in card.split(">")[0]) == (s.expected_incremental_margin < minor), (sid, s)


def test_snooze_hides_the_account_until_undone(web) -> None:
    client = sign_in(web, "rep")
    day = client.get("/ui/")
    account = _rows(day.text)[0]
    page = client.get(f"/ui/accounts/{account}")
    sid = next(sid for sid, card in _cards(page.text).items() if 'value="done:reached"' in card)
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "snoozed", "snooze_until": "2099-01-01",
                                               "csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"})
    assert answer.status_code == 422, "a snooze over a year ahead is refused"
    from datetime import timedelta

    from serving.store.users import utcnow

    until = (utcnow() + timedelta(days=5)).date()
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "snoozed",
                                               "snooze_until": until.isoformat(), "note": "on holiday",
                                               "csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    assert "Snoozed until" in answer.text and "on holiday" in answer.text and 'value="undone"' in answer.text
    assert account not in _rows(client.get("/ui/").text)
    again = client.get(f"/ui/accounts/{account}")
    assert 'id="snoozed"' in again.text and until.isoformat() in again.text
    undo = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "undone",
                                             "csrf_token": csrf_of(again.text)}, headers={"HX-Request": "true"})
    assert undo.status_code == 200 and 'value="accepted"' in undo.text
    assert account in _rows(client.get("/ui/").text)


def test_call_outcomes_are_stored_and_not_reached_keeps_the_call(web) -> None:
    from sqlalchemy import select

    from serving.store.tables import Feedback

    client = sign_in(web, "rep")
    day = client.get("/ui/")
    account = _rows(day.text)[1]
    page = client.get(f"/ui/accounts/{account}")
    sid = next(sid for sid, card in _cards(page.text).items() if 'value="done:not_reached"' in card)
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "done:not_reached",
                                               "csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "Done: Not reached" in answer.text
    assert f'id="s-{sid}"' in client.get(f"/ui/accounts/{account}").text, "a missed call comes back"
    client.post("/ui/feedback", data={"suggestion_id": sid, "action": "undone", "csrf_token": csrf_of(page.text)})
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "done:order_expected",
                                               "csrf_token": csrf_of(page.text)}, headers={"HX-Request": "true"})
    assert "Done: Order expected" in answer.text
    assert f'id="s-{sid}"' not in client.get(f"/ui/accounts/{account}").text
    with web.runtime.sessions() as session:
        stored = session.execute(select(Feedback.status, Feedback.outcome).where(Feedback.suggestion_id == sid)
                                 .order_by(Feedback.id)).all()
    assert [tuple(r) for r in stored] == [("done", "not_reached"), ("undone", None), ("done", "order_expected")]
    bad = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "done:maybe",
                                            "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 422


def test_another_reps_marketing_action_answers_not_found(web) -> None:
    account = account_where(web, "rep_other", has_marketing_action)
    shown = web.client.get(f"/v1/accounts/{account}/suggestions?k=3", headers=web.headers("admin")).json()
    sid = next(s["suggestion_id"] for s in shown["suggestions"] if s["executed_by"] == "marketing")
    client = sign_in(web, "rep")
    csrf = csrf_of(client.get("/ui/").text)
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "accepted", "csrf_token": csrf},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 404 and sid not in answer.text and account not in answer.text
