"""Window primitives: exact edges, per-key isolation, agreement with a brute-force count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.windows import (
    US_PER_DAY,
    AsOfWindows,
    EventIndex,
    QueryClock,
    Timeline,
    codes_in,
    combine_codes,
    days_to_us,
    to_us,
)

DAY = US_PER_DAY


def test_to_us_reads_naive_timestamps_as_microseconds() -> None:
    stamps = pd.Series(pd.to_datetime(["1970-01-01T00:00:00.000001", "1970-01-02"], format="ISO8601"))
    assert to_us(stamps).tolist() == [1, DAY]


def test_to_us_converts_aware_timestamps_to_utc() -> None:
    stamps = pd.Series(pd.to_datetime(["1970-01-02T01:00:00+01:00"]))
    assert to_us(stamps).tolist() == [DAY]


def test_to_us_rejects_missing_timestamps() -> None:
    with pytest.raises(ValueError, match="missing values at positions \\[1\\]"):
        to_us(pd.Series([pd.Timestamp("2025-01-01"), pd.NaT]))


def test_combine_codes_marks_any_unknown_part_as_no_key() -> None:
    keys = combine_codes([np.array([0, 1, -1, 1]), np.array([2, 0, 1, 3])], [2, 3])
    assert keys.tolist() == [2, 3, -1, -1]


def test_codes_in_maps_missing_and_unknown_to_minus_one() -> None:
    vocab = pd.Index(["a", "b"])
    values = pd.Series(["b", None, "zz", "a", "b"], dtype="str")
    assert codes_in(values, vocab).tolist() == [1, -1, -1, 0, 1]


def test_left_closed_window_counts_the_lower_edge_and_not_the_upper() -> None:
    index = EventIndex(np.zeros(3), np.array([10, 20, 30]))
    keys = np.zeros(4, dtype=np.int64)
    assert index.count(keys, np.array([10, 11, 20, 0]), np.array([30, 30, 31, 10])).tolist() == [2, 1, 2, 0]


def test_right_closed_window_counts_the_upper_edge_and_not_the_lower() -> None:
    index = EventIndex(np.zeros(3), np.array([10, 20, 30]))
    keys = np.zeros(3, dtype=np.int64)
    assert index.count(keys, np.array([10, 9, 20]), np.array([30, 29, 29]), closed="right").tolist() == [2, 2, 0]


def test_keys_do_not_see_each_others_events() -> None:
    index = EventIndex(np.array([0, 1, 1, 2]), np.array([5, 5, 6, 5]), {"v": np.array([1.0, 2.0, 4.0, 8.0])})
    keys = np.array([0, 1, 2, 3, -1])
    lo, hi = np.zeros(5, dtype=np.int64), np.full(5, 100)
    assert index.count(keys, lo, hi).tolist() == [1, 2, 1, 0, 0]
    assert index.sum("v", keys, lo, hi).tolist() == [1.0, 6.0, 8.0, 0.0, 0.0]
    assert index.count(keys, None, hi).tolist() == [1, 2, 1, 0, 0]


def test_events_with_negative_keys_are_dropped() -> None:
    index = EventIndex(np.array([-1, 0]), np.array([5, 5]), {"v": np.array([100.0, 1.0])})
    assert len(index) == 1
    assert index.sum("v", np.array([0]), None, np.array([10])).tolist() == [1.0]


def test_ties_at_the_same_time_are_all_inside_or_all_outside() -> None:
    index = EventIndex(np.zeros(3), np.array([7, 7, 7]))
    assert index.count(np.zeros(2), np.array([7, 0]), np.array([8, 7])).tolist() == [3, 0]


def test_unknown_value_name_is_reported() -> None:
    index = EventIndex(np.zeros(1), np.array([1]), {"net": np.array([1.0])})
    with pytest.raises(KeyError, match="'margin' is not indexed; indexed values: \\['net'\\]"):
        index.sum("margin", np.zeros(1), None, np.array([2]))


def test_timeline_must_match_the_events() -> None:
    with pytest.raises(ValueError, match="other times"):
        EventIndex(np.zeros(2), np.array([1, 2]), timeline=Timeline(np.array([1, 3])))


def test_as_of_windows_edges_and_recency() -> None:
    t = np.array([0, 10 * DAY, 20 * DAY])
    index = EventIndex(np.zeros(3), t, {"v": np.array([1.0, 2.0, 4.0])})
    at = np.array([30 * DAY, 20 * DAY, 0])
    view = AsOfWindows(index, np.zeros(3), at)
    assert view.count(10).tolist() == [1.0, 1.0, 0.0]       # [at-10d, at): 20d counts at 30d; 20d not at 20d
    assert view.count(20).tolist() == [2.0, 2.0, 0.0]
    assert view.sum("v", 30, 10).tolist() == [3.0, 1.0, 0.0]  # [at-30d, at-10d)
    assert view.count().tolist() == [3.0, 2.0, 0.0]
    np.testing.assert_array_equal(view.days_since_last(), [10.0, 10.0, np.nan])
    np.testing.assert_array_equal(view.days_since_first(), [30.0, 20.0, np.nan])


def test_query_clock_is_tied_to_its_timeline() -> None:
    index = EventIndex(np.zeros(2), np.array([1, 2]))
    other = QueryClock(Timeline(np.array([1, 2])), np.array([3]))
    with pytest.raises(ValueError, match="another timeline"):
        AsOfWindows(index, np.zeros(1), other)


def test_sums_of_a_key_do_not_change_when_other_or_later_events_are_added() -> None:
    rng = np.random.default_rng(3)
    values = rng.gamma(1.0, 1e6, 500)
    keys = rng.integers(0, 5, 500)
    times = rng.integers(0, 1000, 500)
    query_keys, at = np.arange(5), np.full(5, 600)
    base = AsOfWindows(EventIndex(keys, times, {"v": values}), query_keys, at).sum("v", 1)
    later = np.concatenate([keys, rng.integers(0, 5, 300)]), np.concatenate([times, rng.integers(600, 2000, 300)])
    more = AsOfWindows(EventIndex(*later, {"v": np.concatenate([values, rng.random(300) * 1e9])}),
                       query_keys, at).sum("v", 1)
    assert base.tolist() == more.tolist()


def test_counts_and_sums_agree_with_brute_force() -> None:
    rng = np.random.default_rng(11)
    n, q = 2_000, 300
    keys, times = rng.integers(0, 30, n), rng.integers(0, 50, n) * DAY // 2
    values = rng.random(n)
    index = EventIndex(keys, times, {"v": values})
    q_keys, q_at = rng.integers(-1, 32, q), rng.integers(0, 60, q) * DAY // 2
    view = AsOfWindows(index, q_keys, q_at)
    for days in (1, 7, 30):
        inside = (keys[None, :] == q_keys[:, None]) & (times[None, :] >= q_at[:, None] - days_to_us(days)) \
            & (times[None, :] < q_at[:, None])
        assert view.count(days).tolist() == inside.sum(axis=1).astype(float).tolist()
        np.testing.assert_allclose(view.sum("v", days), (inside * values[None, :]).sum(axis=1), atol=1e-9)
    after = (keys[None, :] == q_keys[:, None]) & (times[None, :] > q_at[:, None]) \
        & (times[None, :] <= q_at[:, None] + 3 * DAY)
    assert index.count(q_keys, q_at, q_at + 3 * DAY, closed="right").tolist() == after.sum(axis=1).tolist()


def test_empty_index_answers_zero() -> None:
    index = EventIndex(np.zeros(0), np.zeros(0), {"v": np.zeros(0)})
    view = AsOfWindows(index, np.array([0, 3]), np.array([5, 6]))
    assert view.count(30).tolist() == [0.0, 0.0]
    assert view.sum("v", 30).tolist() == [0.0, 0.0]
    assert np.isnan(view.days_since_last()).all()
