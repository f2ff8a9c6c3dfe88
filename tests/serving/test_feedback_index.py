"""The in-memory feedback index answers exactly as the database query would, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from serving.feedback_index import FeedbackIndex
from serving.store.db import Database
from serving.store.decisions import find_shown, log_decisions
from serving.store.feedback import feedback_effects, record_feedback
from serving.store.tables import Feedback
from serving.store.users import add_user

NOW = datetime(2026, 3, 1, 12, 0, 0)


@pytest.fixture
def sessions(database_url: str):
    factory = Database.open(database_url)
    yield factory
    factory.close()


def _show(sessions, sid: str, account: str, channel: str = "phone", executed_by: str = "rep") -> None:
    with sessions() as s:
        log_decisions(s, [{"suggestion_id": sid, "account_id": account, "rank": 1, "channel": channel,
                           "offer_id": "OF1", "discount_pct": 0.0, "executed_by": executed_by,
                           "p_convert": 0.3, "p_convert_baseline": 0.2, "expected_incremental_margin": 5.0,
                           "propensity": 1.0, "model_version": "m/1", "as_of": datetime(2025, 7, 1),
                           "requested_at": NOW, "user_id": None}])


def _feedback(sessions, user_id: int, sid: str, status: str, created_at: datetime) -> Feedback:
    with sessions() as s:
        row, created = record_feedback(s, shown=find_shown(s, sid), status=status, reason=None, note=None,
                                       user_id=user_id, idempotency_key=None)
        assert created
        row.created_at = created_at  # feedback given at a chosen time
        s.merge(row)
        s.commit()
        return row


def test_index_matches_the_database_and_sees_other_writers(sessions) -> None:
    with sessions() as s:
        user_id = add_user(s, name="ann", role="rep", rep_id="R1")[0].id
    for sid, account in (("s1", "A1"), ("s2", "A1"), ("s3", "A2"), ("s4", "A3")):
        _show(sessions, sid, account)
    _feedback(sessions, user_id, "s1", "dismissed", NOW - timedelta(days=2))
    _feedback(sessions, user_id, "s2", "accepted", NOW - timedelta(days=3))
    _feedback(sessions, user_id, "s3", "done", NOW - timedelta(days=40))  # outside both windows

    index = FeedbackIndex(sessions, suppress_days=14, refresh_seconds=0, clock=lambda: NOW)
    accounts = ["A1", "A2", "A3", "A9"]
    with sessions() as s:
        expected = feedback_effects(s, accounts, now=NOW, suppress_days=14)
    assert index.effects(accounts, NOW) == expected
    assert expected.suppressed == frozenset({("A1", "phone", "OF1")}) and expected.contacts == {("A1", "phone"): 1}

    # Another process stores feedback: seen after the next refresh, not before.
    _feedback(sessions, user_id, "s4", "dismissed", NOW - timedelta(hours=1))
    assert ("A3", "phone", "OF1") not in index.effects(["A3"], NOW).suppressed
    index.refresh()
    assert ("A3", "phone", "OF1") in index.effects(["A3"], NOW).suppressed
    index.refresh()  # reading the same rows again counts nothing twice
    with sessions() as s:
        assert index.effects(accounts, NOW) == feedback_effects(s, accounts, now=NOW, suppress_days=14)
    index.close()


def test_own_feedback_counts_at_once_and_old_rows_age_out(sessions) -> None:
    with sessions() as s:
        user_id = add_user(s, name="bob", role="admin")[0].id
    _show(sessions, "s1", "A1")
    clock = [NOW]
    index = FeedbackIndex(sessions, suppress_days=14, refresh_seconds=0, clock=lambda: clock[0])
    row = _feedback(sessions, user_id, "s1", "done", NOW - timedelta(minutes=5))
    index.add(row)
    effects = index.effects(["A1"], NOW)
    assert effects.suppressed == frozenset({("A1", "phone", "OF1")}) and effects.contacts == {("A1", "phone"): 1}
    clock[0] = NOW + timedelta(days=31)  # past the suppression and the contact window
    index.refresh()
    assert index.effects(["A1"], clock[0]).suppressed == frozenset()
    assert index._by_account == {}  # pruned, memory does not grow with history
    index.close()


def test_background_refresh_picks_up_feedback(sessions) -> None:
    import time

    with sessions() as s:
        user_id = add_user(s, name="cy", role="admin")[0].id
    _show(sessions, "s1", "A1")
    index = FeedbackIndex(sessions, suppress_days=14, refresh_seconds=0.05)
    try:
        from serving.store.users import utcnow

        _feedback(sessions, user_id, "s1", "dismissed", utcnow())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not index.effects(["A1"], utcnow()).suppressed:
            time.sleep(0.02)
        assert index.effects(["A1"], utcnow()).suppressed == frozenset({("A1", "phone", "OF1")})
    finally:
        index.close()
