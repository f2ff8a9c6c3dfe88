"""The scoreboard's suggestion funnel (shown, accepted, done, converted), counted incrementally.

Counts are per period: the suggestions of one data snapshot (their decision rows' ``as_of``),
each counted once however often a page showed it. A new snapshot starts a new period; rows of
earlier snapshots never add to the current one.

Reading the whole decision log and feedback table on every scoreboard would cost more the longer
the service runs. :class:`FunnelCounts` keeps per-account counts instead and, per request, reads
only the rows added since its last read: a primary-key range (``id > last``), so an indexed query
whose cost follows the new rows, not the log's size. As in ``serving.feedback_index``, the last
``OVERLAP`` ids are read again each time because concurrent transactions may commit out of id
order; every count is a set, and feedback moves a suggestion between them only when it is the
suggestion's latest row so far, so reading a row twice changes nothing.

Accepted and done follow each suggestion's final status (``models.feedback_state``): feedback
taken back by an undo no longer counts, and a suggestion counts as accepted while its final status
is accepted or done. Every feedback row is read (not only accepted and done ones), so that a later
undo or dismissal moves the suggestion out of the counts it was in; the open tasks of the team
page (final status accepted) are kept the same way.

Conversions depend on the order lines of the served snapshot; they are judged once per done
suggestion and snapshot, with the snapshot's lines indexed by account once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from models.feedback_state import TAKEN_ON, FinalStates
from serving.feedback_index import OVERLAP_IDS as OVERLAP
from serving.store.db import Database
from serving.store.tables import Decision, Feedback


@dataclass
class _OrderIndex:
    """A snapshot's order lines grouped by account: positions ``order[start[a]:end[a]]``."""

    lines: pd.DataFrame
    positions: dict[str, tuple[int, int]]
    order: np.ndarray

    @classmethod
    def build(cls, lines: pd.DataFrame) -> _OrderIndex:
        codes, uniques = pd.factorize(lines["account_id"].astype(str), sort=False)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        positions = {str(a): (int(bounds[i]), int(bounds[i + 1])) for i, a in enumerate(uniques)}
        return cls(lines, positions, order)

    def rows(self, account: str) -> pd.DataFrame:
        start, end = self.positions.get(account, (0, 0))
        return self.lines.iloc[self.order[start:end]]


@dataclass
class _Judged:
    """Conversion of done suggestions under one snapshot."""

    index: _OrderIndex
    converted: dict[str, bool] = field(default_factory=dict)


Period = tuple[str, str]  # (account_id, the snapshot's as-of as naive UTC ISO text)


def period_key(as_of: Any) -> str:
    """An as-of as the databases give it back: naive UTC, ISO text (tz-aware values converted)."""
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.isoformat()


class FunnelCounts:
    """Per-account, per-period funnel counts of one database, brought up to date by :meth:`refresh`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decision_id = 0
        self._feedback_id = 0
        #: suggestion_id -> the as-of of the snapshot that showed it (the first one, if several did)
        self.period_of: dict[str, str] = {}
        self.shown: dict[Period, set[str]] = {}
        self.final = FinalStates()
        self.accepted: dict[Period, set[str]] = {}
        #: suggestion_id -> (account, offer, when it was marked done) while its final status is done
        self.done: dict[str, tuple[str, str | None, datetime]] = {}
        self.done_by_period: dict[Period, set[str]] = {}
        #: account_id -> suggestions whose final status is accepted (taken on, neither done nor dismissed)
        self.open_tasks: dict[str, set[str]] = {}
        self._judged: dict[tuple[str, ...], _Judged] = {}

    def refresh(self, sessions: Database) -> None:
        """Read the decision and feedback rows added since the last call."""
        with self._lock:
            with sessions() as session:
                decisions = session.execute(
                    select(Decision.id, Decision.account_id, Decision.suggestion_id, Decision.as_of)
                    .where(Decision.id > self._decision_id - OVERLAP)).all()
                feedback = session.execute(
                    select(Feedback.id, Feedback.suggestion_id, Feedback.account_id, Feedback.offer_id,
                           Feedback.status, Feedback.created_at)
                    .where(Feedback.id > self._feedback_id - OVERLAP)).all()
            for row_id, account, sid, as_of in decisions:
                period = self.period_of.setdefault(sid, period_key(as_of))
                self.shown.setdefault((account, period), set()).add(sid)
                self._decision_id = max(self._decision_id, row_id)
            for row_id, sid, account, offer, status, created in feedback:
                self._feedback_id = max(self._feedback_id, row_id)
                change = self.final.update(row_id, sid, status)
                if change is not None:
                    self._move(sid, account, offer, created, *change)

    def _move(self, sid: str, account: str, offer: str | None, created: datetime,
              before: str | None, after: str | None) -> None:
        """Move ``sid`` from the counts of its final status ``before`` to those of ``after``."""
        _toggle(self.open_tasks, account, sid, after == "accepted")
        shown_in = self.period_of.get(sid)
        if shown_in is None:  # the funnel counts shown suggestions; their decision rows come first
            return
        period = (account, shown_in)
        _toggle(self.accepted, period, sid, after in TAKEN_ON)
        _toggle(self.done_by_period, period, sid, after == "done")
        if after == "done" and before == "done":
            return  # done again: the first time still counts for conversion
        if after == "done":
            self.done[sid] = (account, offer, created)
        else:
            self.done.pop(sid, None)
        for judged in self._judged.values():
            judged.converted.pop(sid, None)

    def open_tasks_of(self, account_ids: list[str]) -> dict[str, int]:
        """account_id -> how many of its suggestions have the final status accepted."""
        with self._lock:
            return {a: len(self.open_tasks[a]) for a in account_ids if self.open_tasks.get(a)}

    def funnel(self, account_ids: list[str], as_of: Any, key: tuple[str, ...], lines: pd.DataFrame,
               offer_category: dict[str, str], window_days: int) -> dict[str, int]:
        """Suggestions of these accounts shown in the period ``as_of`` (each once), accepted, done,
        and converted (done, then an order of the offer's category — any category for a generic
        contact — within ``window_days``). ``key`` names the snapshot whose order ``lines`` judge
        conversions."""
        period = period_key(as_of)
        periods = [(a, period) for a in account_ids]
        with self._lock:
            done = [sid for p in periods for sid in self.done_by_period.get(p, ())]
            judged = self._judged_for(key, lines)
            window = timedelta(days=window_days)
            converted = 0
            for sid in done:
                hit = judged.converted.get(sid)
                if hit is None:
                    hit = judged.converted[sid] = _converts(judged.index, *self.done[sid], offer_category, window)
                converted += hit
            return {"shown": sum(len(self.shown.get(p, ())) for p in periods),
                    "accepted": sum(len(self.accepted.get(p, ())) for p in periods),
                    "done": len(done), "converted": converted}

    def _judged_for(self, key: tuple[str, ...], lines: pd.DataFrame) -> _Judged:
        found = self._judged.get(key)
        if found is None:
            # Only the served snapshot's: an index kept for the one before would keep its order
            # lines alive after a reload (a request still on it briefly builds its own again).
            self._judged.clear()
            found = self._judged[key] = _Judged(_OrderIndex.build(lines))
        return found


def _toggle(sets: dict[Any, set[str]], key: Any, sid: str, member: bool) -> None:
    """Add ``sid`` to ``sets[key]`` or take it out (dropping an emptied set)."""
    if member:
        sets.setdefault(key, set()).add(sid)
        return
    found = sets.get(key)
    if found is not None:
        found.discard(sid)
        if not found:
            del sets[key]


def _converts(index: _OrderIndex, account: str, offer: str | None, created: Any,
              offer_category: dict[str, str], window: timedelta) -> bool:
    orders = index.rows(account)
    when = pd.Timestamp(created)
    hit = (orders["ordered_at"] > when) & (orders["ordered_at"] <= when + window)
    if offer is not None:
        hit &= orders["product_category"].astype(str) == offer_category.get(offer, "")
    return bool(hit.any())


def funnel_counts(database: Database) -> FunnelCounts:
    """The up-to-date counts of ``database`` (one instance per database)."""
    found = database.shared("funnel_counts", FunnelCounts)
    found.refresh(database)
    return found
