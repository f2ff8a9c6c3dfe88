"""Vectorised time-window counts and sums over time-stamped events, for many queries at once.

Events carry an integer key (an account, an account × category, ...) and a time. An
:class:`EventIndex` sorts them by (key, time) once; a query (key, t) is then answered with two
binary searches on a composite key, so N events and Q queries cost O((N + Q) log N) with no
Python loop over rows. Times are int64 microseconds since the epoch (see :func:`to_us`).

Window conventions:

- ``closed="left"``: events with ``lo <= time < hi`` (as-of features: ``[at - w, at)``);
- ``closed="right"``: events with ``lo < time <= hi`` (outcome windows: ``(t, t + W]``).

Sums use per-key running totals, so a key's result depends only on that key's events before the
window's end: adding later events (or other keys' events) leaves every earlier answer bit-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

US_PER_DAY = 86_400_000_000
Closed = Literal["left", "right"]


def to_us(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch (naive UTC; tz-aware is converted to UTC)."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = pd.to_datetime(series, format="ISO8601")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if series.isna().any():
        rows = np.flatnonzero(series.isna().to_numpy())[:5].tolist()
        raise ValueError(f"timestamps must not be missing; got missing values at positions {rows}")
    return series.to_numpy(dtype="datetime64[us]").view("int64")


def days_to_us(days: float) -> int:
    """A number of days as microseconds."""
    return int(round(days * US_PER_DAY))


def combine_codes(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 key from several integer codes (mixed radix); any code < 0 gives -1 (no key)."""
    if len(codes) != len(sizes) or not codes:
        raise ValueError(f"need one size per code array; got {len(codes)} arrays and {len(sizes)} sizes")
    if float(np.prod([max(s, 1) for s in sizes], dtype=float)) >= 2**62:
        raise ValueError(f"key space too large for int64 keys: sizes {sizes}")
    key = np.zeros(len(codes[0]), dtype=np.int64)
    invalid = np.zeros(len(codes[0]), dtype=bool)
    for code, size in zip(codes, sizes, strict=True):
        code = np.asarray(code, dtype=np.int64)
        invalid |= (code < 0) | (code >= size)
        key = key * max(size, 1) + code
    key[invalid] = -1
    return key


def codes_in(values: pd.Series | np.ndarray, vocabulary: pd.Index) -> np.ndarray:
    """Position of each value in ``vocabulary`` (-1 for missing or unknown values).

    Factorizes first, so the hash lookup runs over the distinct values only.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    positions = np.append(vocabulary.get_indexer(uniques), -1).astype(np.int64)
    return positions[codes]


def lookup(values: pd.Series | np.ndarray, table: pd.Series, default: object = np.nan) -> np.ndarray:
    """``table[value]`` for every value (``default`` for missing or unknown ones), vectorised."""
    codes = codes_in(values, pd.Index(table.index))
    return np.append(table.to_numpy(dtype=object), np.array([default], dtype=object))[codes]


def _segmented_cumsum(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Running totals that restart at each key (keys sorted), each key summed on its own."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.float64)
    return pd.Series(values, dtype=np.float64).groupby(keys, sort=False).cumsum().to_numpy()


class Timeline:
    """The distinct times of one event table and each event's rank among them.

    Indexes over the same table (by account, by account × category, ...) share one timeline,
    and so do the query-time ranks computed from it (:class:`QueryClock`).
    """

    def __init__(self, times_us: np.ndarray) -> None:
        times_us = np.asarray(times_us, dtype=np.int64)
        order = np.argsort(times_us, kind="stable")
        ordered = times_us[order]
        new = np.ones(len(ordered), dtype=bool)
        new[1:] = ordered[1:] != ordered[:-1]
        self.times = times_us
        self.unique = ordered[new]
        self.ranks = np.empty(len(ordered), dtype=np.int64)
        self.ranks[order] = np.cumsum(new) - 1

    def rank(self, times_us: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
        """Number of distinct event times < t (``side="left"``) or <= t (``"right"``)."""
        return np.searchsorted(self.unique, np.asarray(times_us, dtype=np.int64), side=side)


class EventIndex:
    """Events sorted by (key, time) with per-key running sums of named value columns.

    Events with a negative key are dropped (the caller's "unknown" code). Pass the table's
    :class:`Timeline` when several indexes are built over the same times.
    """

    def __init__(self, keys: np.ndarray, times_us: np.ndarray,
                 values: Mapping[str, np.ndarray] | None = None, timeline: Timeline | None = None) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        times_us = np.asarray(times_us, dtype=np.int64)
        if keys.shape != times_us.shape:
            raise ValueError(f"keys and times must have the same length; got {len(keys)} and {len(times_us)}")
        if timeline is None:
            timeline = Timeline(times_us)
        elif timeline.times is not times_us and not np.array_equal(timeline.times, times_us):
            raise ValueError("the timeline was built from other times than the events'")
        self.timeline = timeline
        self._radix = np.int64(len(timeline.unique) + 1)
        keep = np.flatnonzero(keys >= 0)
        max_key = int(keys[keep].max()) if len(keep) else 0
        if (max_key + 1) * int(self._radix) >= 2**62:
            raise ValueError(f"too many keys × distinct times for int64 composite keys ({max_key + 1} keys)")
        composite = keys[keep] * self._radix + timeline.ranks[keep]
        sort = np.argsort(composite, kind="stable")
        order = keep[sort]
        self._composite = composite[sort]
        self.keys = keys[order]
        self.times = times_us[order]
        self._cumsums: dict[str, np.ndarray] = {}
        for name, vals in (values or {}).items():
            vals = np.asarray(vals, dtype=np.float64)
            if vals.shape != keys.shape:
                raise ValueError(f"value column {name!r} has {len(vals)} rows; expected {len(keys)}")
            self._cumsums[name] = _segmented_cumsum(vals[order], self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def value_names(self) -> list[str]:
        return list(self._cumsums)

    def block_start(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key's first event (where it would be, when the key has none)."""
        keys = np.asarray(keys, dtype=np.int64)
        return np.searchsorted(self._composite, np.where(keys < 0, -1, keys * self._radix), side="left")

    def position_of_rank(self, keys: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """Position of each key's first event whose time rank is >= ``ranks``."""
        keys = np.asarray(keys, dtype=np.int64)
        probe = np.where(keys < 0, -1, keys * self._radix + ranks)
        return np.searchsorted(self._composite, probe, side="left")

    def position(self, keys: np.ndarray, times_us: np.ndarray, side: Literal["left", "right"]
                 ) -> np.ndarray:
        """Position of each key's first event with time >= t (``side="left"``) or > t (``"right"``)."""
        return self.position_of_rank(keys, self.timeline.rank(times_us, side))

    def bounds(self, keys: np.ndarray, lo_us: np.ndarray | None, hi_us: np.ndarray,
               closed: Closed = "left") -> tuple[np.ndarray, np.ndarray]:
        """Positions ``(start, end)`` of the events of each key inside the window.

        ``lo_us=None`` means no lower bound (from the key's first event).
        """
        if closed not in ("left", "right"):
            raise ValueError(f"closed must be 'left' or 'right', got {closed!r}")
        end = self.position(keys, hi_us, closed)
        start = self.block_start(keys) if lo_us is None else self.position(keys, lo_us, closed)
        return start, np.maximum(start, end)

    def count(self, keys: np.ndarray, lo_us: np.ndarray | None, hi_us: np.ndarray,
              closed: Closed = "left") -> np.ndarray:
        """Number of events of each key inside the window."""
        start, end = self.bounds(keys, lo_us, hi_us, closed)
        return end - start

    def sum_between(self, name: str, keys: np.ndarray, start: np.ndarray, end: np.ndarray,
                    first: np.ndarray | None = None) -> np.ndarray:
        """Sum of value ``name`` over the events at positions ``[start, end)`` of each key
        (``first``: the keys' block starts, when already known)."""
        try:
            cums = self._cumsums[name]
        except KeyError:
            raise KeyError(f"value {name!r} is not indexed; indexed values: {self.value_names}") from None
        first = self.block_start(keys) if first is None else first
        return self._prefix(cums, end, first) - self._prefix(cums, start, first)

    def sum(self, name: str, keys: np.ndarray, lo_us: np.ndarray | None, hi_us: np.ndarray,
            closed: Closed = "left") -> np.ndarray:
        """Sum of value ``name`` over the events of each key inside the window."""
        start, end = self.bounds(keys, lo_us, hi_us, closed)
        return self.sum_between(name, keys, start, end)

    def time_at(self, positions: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Event times (int64 µs) at ``positions`` where ``valid``; float NaN elsewhere."""
        out = np.full(len(positions), np.nan)
        if len(self.times):
            safe = np.clip(positions, 0, len(self.times) - 1)
            out[valid] = self.times[safe[valid]].astype(np.float64)
        return out

    @staticmethod
    def _prefix(cums: np.ndarray, pos: np.ndarray, first: np.ndarray) -> np.ndarray:
        """Sum of a key's events before ``pos`` (0 when ``pos`` is the key's first position)."""
        if len(cums) == 0:
            return np.zeros(len(pos), dtype=np.float64)
        has = pos > first
        return np.where(has, cums[np.clip(pos - 1, 0, len(cums) - 1)], 0.0)


class QueryClock:
    """Ranks of the query times ``at - days`` on one timeline, computed once per window length
    and shared by every index over that timeline."""

    def __init__(self, timeline: Timeline, at_us: np.ndarray) -> None:
        self.timeline = timeline
        self.at_us = np.asarray(at_us, dtype=np.int64)
        self._ranks: dict[int, np.ndarray] = {}

    def rank(self, days: int) -> np.ndarray:
        if days not in self._ranks:
            self._ranks[days] = self.timeline.rank(self.at_us - days_to_us(days), "left")
        return self._ranks[days]


class AsOfWindows:
    """Counts and sums of one :class:`EventIndex` over windows ending at each query's ``at``.

    ``count(days)`` covers ``[at - days, at)``; ``count(days, skip_days)`` covers
    ``[at - days, at - skip_days)``; ``days=None`` means all history before ``at``.
    Window positions are computed once per distinct ``days`` and reused.
    """

    def __init__(self, index: EventIndex, keys: np.ndarray, at: np.ndarray | QueryClock) -> None:
        """``at``: the queries' times in µs, or a :class:`QueryClock` over the index's timeline."""
        clock = at if isinstance(at, QueryClock) else QueryClock(index.timeline, at)
        if clock.timeline is not index.timeline:
            raise ValueError("the query clock belongs to another timeline than the index")
        self.index = index
        self.clock = clock
        self.keys = np.asarray(keys, dtype=np.int64)
        self.at_us = clock.at_us
        self.first = index.block_start(self.keys)
        self._edges: dict[int, np.ndarray] = {}

    def edge(self, days: int | None) -> np.ndarray:
        """Position of the first event at or after ``at - days`` (``None``: the key's first event)."""
        if days is None:
            return self.first
        if days not in self._edges:
            position = self.index.position_of_rank(self.keys, self.clock.rank(days))
            self._edges[days] = np.maximum(position, self.first)
        return self._edges[days]

    def _span(self, days: int | None, skip_days: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.edge(days), self.edge(skip_days)
        return start, np.maximum(start, end)

    def count(self, days: int | None = None, skip_days: int = 0) -> np.ndarray:
        start, end = self._span(days, skip_days)
        return (end - start).astype(np.float64)

    def sum(self, name: str, days: int | None = None, skip_days: int = 0) -> np.ndarray:
        start, end = self._span(days, skip_days)
        return self.index.sum_between(name, self.keys, start, end, self.first)

    def days_since_last(self) -> np.ndarray:
        """Days from the last event before ``at`` to ``at`` (NaN when there is none)."""
        end = self.edge(0)
        last = self.index.time_at(end - 1, end > self.first)
        return (self.at_us - last) / US_PER_DAY

    def days_since_first(self) -> np.ndarray:
        """Days from the key's first event (before ``at``) to ``at`` (NaN when there is none)."""
        end = self.edge(0)
        first = self.index.time_at(self.first, end > self.first)
        return (self.at_us - first) / US_PER_DAY
