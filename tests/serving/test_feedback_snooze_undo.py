"""Snooze, undo and outcomes as feedback: what they hide, what they count, and that they are
stored (migration 0005) on SQLite and PostgreSQL and read back after a restart of the index."""

from __future__ import annotations

from datetime import datetime, timedelta

from serving.store.feedback import effects_from_rows

NOW = datetime(2026, 6, 1, 12, 0)


def _row(sid: str, status: str, *, account: str = "A", channel: str = "phone", offer: str | None = "O1",
         by: str = "rep", at: datetime = NOW - timedelta(hours=1), until: datetime | None = None,
         outcome: str | None = None):
    return (sid, account, channel, offer, status, by, at, until, outcome)


def test_snooze_hides_the_action_and_the_account_until_its_date() -> None:
    rows = [_row("s1", "snoozed", until=NOW + timedelta(days=3))]
    effects = effects_from_rows(rows, now=NOW, suppress_days=14)
    assert ("A", "phone", "O1") in effects.suppressed and effects.snoozed == {"A": NOW + timedelta(days=3)}
    later = effects_from_rows(rows, now=NOW + timedelta(days=3, seconds=1), suppress_days=14)
    assert later.suppressed == frozenset() and later.snoozed == {}


def test_undo_cancels_earlier_feedback_of_the_same_suggestion_only() -> None:
    rows = [_row("s1", "accepted", at=NOW - timedelta(hours=3)),
            _row("s1", "done", at=NOW - timedelta(hours=2), outcome="reached"),
            _row("s2", "dismissed", channel="visit", at=NOW - timedelta(hours=2)),
            _row("s1", "undone", at=NOW - timedelta(hours=1))]
    effects = effects_from_rows(rows, now=NOW, suppress_days=14)
    assert effects.suppressed == frozenset({("A", "visit", "O1")})
    assert effects.contacts == {}
    again = effects_from_rows([*rows, _row("s1", "accepted", at=NOW)], now=NOW, suppress_days=14)
    assert again.contacts == {("A", "phone"): 1}
    snooze = [_row("s3", "snoozed", until=NOW + timedelta(days=5), at=NOW - timedelta(hours=2)),
              _row("s3", "undone")]
    assert effects_from_rows(snooze, now=NOW, suppress_days=14).snoozed == {}


def test_not_reached_counts_as_a_contact_but_keeps_the_action() -> None:
    missed = effects_from_rows([_row("s1", "done", outcome="not_reached")], now=NOW, suppress_days=14)
    assert missed.suppressed == frozenset() and missed.contacts == {("A", "phone"): 1}
    for outcome in ("reached", "order_expected", None):
        done = effects_from_rows([_row("s1", "done", outcome=outcome)], now=NOW, suppress_days=14)
        assert done.suppressed == frozenset({("A", "phone", "O1")}), outcome


def test_outcome_and_snooze_are_stored_and_survive_a_restart(database_url, serving_snapshot) -> None:
    from serving.feedback_index import FeedbackIndex
    from serving.store.decisions import find_shown
    from serving.store.tables import Feedback
    from serving.store.users import utcnow
    from tests.serving.conftest import running_api

    with running_api(database_url, serving_snapshot) as api:
        rep = api.scopes["rep"]["rep_id"]
        directory = api.runtime.snapshot.directory
        # An account with a call or visit (an outcome is reported on rep actions only) and another action.
        for pos in directory.rep_accounts(rep).tolist():
            account = str(directory.accounts[pos])
            shown = api.client.get(f"/v1/accounts/{account}/suggestions?k=10", headers=api.headers("rep")).json()
            acts = [s for s in shown["suggestions"] if s["channel"] != "none"]
            rep_acts = [s["suggestion_id"] for s in acts if s["executed_by"] == "rep"]
            if rep_acts and len(acts) >= 2:
                break
        sids = [next(s["suggestion_id"] for s in acts if s["suggestion_id"] != rep_acts[0]), rep_acts[0]]
        until = (utcnow() + timedelta(days=4)).replace(microsecond=0)
        from serving.access import Access
        from serving.api import views
        from serving.auth import Principal

        access = Access(Principal(user_id=1, name="rep", role="rep", rep_id=rep))
        with api.runtime.sessions() as session:
            views.submit_feedback(api.runtime, session, access, suggestion_id=sids[0], status="snoozed",
                                  reason=None, note="back from holiday on Monday", idempotency_key=None,
                                  snooze_until=until)
            views.submit_feedback(api.runtime, session, access, suggestion_id=sids[1], status="done",
                                  reason=None, note=None, idempotency_key=None, outcome="order_expected")
            stored = {r.suggestion_id: r for r in session.query(Feedback).all()}
            assert find_shown(session, sids[0]) is not None
        assert stored[sids[0]].snooze_until == until and stored[sids[0]].note == "back from holiday on Monday"
        assert stored[sids[1]].outcome == "order_expected"
        fresh = FeedbackIndex(api.runtime.sessions, suppress_days=0, refresh_seconds=0)
        effects = fresh.effects([account], utcnow())
        assert effects.snoozed == {account: until}
        after = api.client.get(f"/v1/accounts/{account}/suggestions?k=3", headers=api.headers("rep")).json()
        assert sids[0] not in [s["suggestion_id"] for s in after["suggestions"]]
