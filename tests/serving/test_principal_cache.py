"""Cached token checks: one caller checks a token again shortly before its entry expires, and the
answer of that check never outlives the cache time counted from when it started."""

from __future__ import annotations

import pytest

from serving import auth
from serving.auth import REFRESH_AHEAD_SHARE, Principal, PrincipalCache

ALICE = Principal(user_id=1, name="alice", role="admin", rep_id=None, region=None)


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """``time.monotonic`` of ``serving.auth``, set by the test."""
    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    return now


def test_one_caller_checks_again_in_the_last_part_of_the_time(clock) -> None:
    cache = PrincipalCache(ttl=8.0)
    cache.put("h", ALICE)
    clock[0] += 8.0 * (1 - REFRESH_AHEAD_SHARE) - 0.01
    assert cache.get("h") == ALICE and not cache.due_for_refresh("h")
    clock[0] += 0.02
    assert cache.due_for_refresh("h")
    assert not cache.due_for_refresh("h"), "the check is handed out once"
    assert cache.get("h") == ALICE, "meanwhile the cached answer stands"
    clock[0] = 1000.0 + 8.01
    assert cache.get("h") is None and not cache.due_for_refresh("h"), "expired: no cached answer"


@pytest.fixture
def claimed(clock) -> PrincipalCache:
    """A cache whose entry ``h`` (8 s, put at 1000) is being checked again, claimed at 1007."""
    cache = PrincipalCache(ttl=8.0)
    cache.put("h", ALICE)
    clock[0] = 1007.0
    assert cache.due_for_refresh("h")
    return cache


def test_a_refreshed_entry_lasts_the_cache_time_from_the_checks_start(claimed, clock) -> None:
    started = clock[0]
    clock[0] = 1007.5
    claimed.refreshed("h", ALICE, started)
    clock[0] = started + 8.0 - 0.01
    assert claimed.get("h") == ALICE
    clock[0] = started + 8.0 + 0.01
    assert claimed.get("h") is None


def test_a_check_finding_the_token_gone_drops_the_entry_at_once(claimed, clock) -> None:
    claimed.refreshed("h", None, clock[0])
    assert claimed.get("h") is None


def test_an_entry_dropped_during_its_check_is_not_brought_back(claimed, clock) -> None:
    claimed.drop("h")  # signed out meanwhile
    claimed.refreshed("h", ALICE, clock[0])
    assert claimed.get("h") is None


def test_a_failed_check_keeps_the_expiry_and_lets_a_later_caller_try(claimed, clock) -> None:
    claimed.refresh_failed("h")
    assert claimed.due_for_refresh("h")
    clock[0] = 1008.01
    assert claimed.get("h") is None
