"""A rep's day lists a call or visit that a contact cap or the quiet days block today, but allow
within ``rep_day_days``, with that later due date and the rule that holds it back (EN and DE);
the requests for suggestions never get such an action. Rep actions accepted or done count as
contacts (the planned contact itself does not hold itself back)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from features.actions import TOUCH_COUNT_PREFIX, contact_state
from serving.access import Access
from serving.auth import Principal
from serving.feedback_index import NO_EFFECTS
from serving.store.feedback import FeedbackEffects
from serving.suggestions import LATER
from serving.web.listing import Filters, account_listing
from tests.serving.web.conftest import sign_in


def _day(web, rep_id: str):
    access = Access(Principal(user_id=1, name="rep", role="rep", rep_id=rep_id))
    return account_listing(web.runtime, access, Filters(rep_day=True), limit=10_000)


def test_later_rows_are_rep_actions_blocked_now_and_free_within_the_horizon(web, small_dataset) -> None:
    service = web.runtime.snapshot.suggestions
    as_of = service.as_of
    later = np.flatnonzero(service.cols[LATER])
    assert len(later), "the test world has no call or visit blocked today and allowed within the horizon"
    state = contact_state(small_dataset.before(as_of), as_of)
    policy = small_dataset.policy
    for row in later[:200].tolist():
        pos, channel = int(service.account_pos[row]), str(service.cols["channel"][row])
        assert service.cols["executed_by"][row] == "rep"
        account = state.iloc[pos]
        rule = policy.channels[channel]
        assert bool(rule.cap_reached(account[TOUCH_COUNT_PREFIX + channel])) or bool(account["in_quiet_period"])
        day, why = service.free_day(pos, channel, NO_EFFECTS)
        assert day is not None and as_of < day <= as_of + pd.Timedelta(days=web.runtime.settings.rep_day_days)
        assert why in ("contact_cap", "quiet_period")
    everyone = service.pick(np.arange(len(service.accounts)), 50, NO_EFFECTS)
    assert not service.cols[LATER][everyone.rows[everyone.rows >= 0]].any()


def test_a_blocked_call_is_listed_with_its_later_due_date_and_why(web) -> None:
    service = web.runtime.snapshot.suggestions
    directory = web.runtime.snapshot.directory
    as_of = service.as_of
    found = []
    for rep_id in sorted({str(r) for r in directory.rep_id if r is not None and r == r}):
        for row in _day(web, rep_id).rows:
            if row["due_why"] is not None:
                found.append(row)
    assert found, "no rep's day lists an action blocked today"
    for row in found:
        why, s = row["due_why"], row["suggestion"]
        assert why["day"] > as_of.date() and row["due"] >= why["day"]
        assert why["channel"] == s.channel and s.executed_by == "rep"
        # Blocked today: the requests of the account's suggestions do not offer this channel.
        pos = service.position(row["account_id"])
        now = service.records(service.pick(np.array([pos]), 50, NO_EFFECTS))
        assert s.suggestion_id not in {r.suggestion_id for r in now}


def test_contacts_reported_as_feedback_push_the_due_date_and_the_page_says_why(web, monkeypatch) -> None:
    rep_id = web.scopes["rep"]["rep_id"]
    day = _day(web, rep_id)
    service = web.runtime.snapshot.suggestions
    first = next(r for r in day.rows if r["suggestion"].channel == "phone" and r["due_why"] is None
                 and service.touches["phone"][service.position(r["account_id"])] == 0)  # no call in the export
    account, sid = first["account_id"], first["suggestion"].suggestion_id
    as_of = service.as_of.to_pydatetime()
    contacts = ((as_of - pd.Timedelta(days=25), "f" * 16), (as_of - pd.Timedelta(days=20), "e" * 16))
    effects = FeedbackEffects(frozenset(), {(account, "phone"): 2},
                              contact_times={(account, "phone"): contacts})
    monkeypatch.setattr(web.runtime.feedback, "effects", lambda ids, now: effects)
    pushed = next(r for r in _day(web, rep_id).rows if r["account_id"] == account)
    # Cap 2: free the day after the 2nd latest contact (25 days before as-of) leaves the 30 days.
    free = (pd.Timestamp(as_of) - pd.Timedelta(days=25) + pd.Timedelta(days=30)).normalize() + pd.Timedelta(days=1)
    assert pushed["suggestion"].channel == "phone"
    assert pushed["due_why"]["rule"] == "contact_cap" and pushed["due_why"]["day"] == free.date()
    assert pushed["due"] == max(first["due"], free.date())

    client = sign_in(web, "rep")
    text = " ".join(client.get("/ui/", params={"q": account}).text.split())
    assert f"Phone call: cap of 2 per 30 days reached, possible from {free:%Y-%m-%d}" in text
    german = " ".join(client.get("/ui/", params={"q": account, "lang": "de"}).text.split())
    assert f"Anruf: Obergrenze von 2 pro 30 Tage erreicht, möglich ab {free:%d.%m.%Y}" in german

    # The planned call itself (accepted, not done) does not hold itself back.
    own = replace(effects, contact_times={(account, "phone"): ((contacts[1][0], sid),)}, planned=frozenset({sid}))
    monkeypatch.setattr(web.runtime.feedback, "effects", lambda ids, now: own)
    again = next(r for r in _day(web, rep_id).rows if r["account_id"] == account)
    assert again["due_why"] is None and again["due"] == first["due"]



def test_the_account_page_shows_the_blocked_call_of_the_reps_day_without_buttons(web, monkeypatch) -> None:
    rep_id = web.scopes["rep"]["rep_id"]
    service = web.runtime.snapshot.suggestions
    first = next(r for r in _day(web, rep_id).rows if r["suggestion"].channel == "phone" and r["due_why"] is None
                 and service.touches["phone"][service.position(r["account_id"])] == 0)
    account = first["account_id"]
    client = sign_in(web, "rep")
    assert 'id="later"' not in client.get(f"/ui/accounts/{account}").text  # possible today: no panel
    as_of = service.as_of.to_pydatetime()
    contacts = ((as_of - pd.Timedelta(days=25), "f" * 16), (as_of - pd.Timedelta(days=20), "e" * 16))
    effects = FeedbackEffects(frozenset(), {(account, "phone"): 2}, contact_times={(account, "phone"): contacts})
    monkeypatch.setattr(web.runtime.feedback, "effects", lambda ids, now: effects)
    row = next(r for r in _day(web, rep_id).rows if r["account_id"] == account)
    why = row["due_why"]
    assert why is not None and why["rule"] == "contact_cap"
    for lang, words, style in (("en", "possible from ", "%Y-%m-%d"), ("de", "möglich ab ", "%d.%m.%Y")):
        page = client.get(f"/ui/accounts/{account}", params={"lang": lang})
        assert page.status_code == 200 and 'id="later"' in page.text
        later = " ".join(page.text.split('id="later"', 1)[1].split("</div>", 1)[0].split())
        assert words + why["day"].strftime(style) in later
        assert "<button" not in later and row["suggestion"].suggestion_id not in later
