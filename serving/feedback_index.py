"""Recent feedback held in memory, so answering a request needs no database query.

The database stays the record: at start the index loads the feedback that can still change an
answer; feedback stored by this process is added the moment it is committed (a user sees the
effect of their own click on the next request); a background thread reads rows stored by other
processes (more workers, other hosts) every ``refresh_seconds``. Rows older than the longest
effect window are dropped as they age out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from serving.store.db import Database
from serving.store.feedback import (
    FeedbackEffects,
    FeedbackRow,
    effects_from_rows,
    effects_since,
    recent_feedback,
)
from serving.store.tables import Feedback
from serving.store.users import utcnow

NO_EFFECTS = FeedbackEffects(frozenset(), {})
#: How many ids below the highest seen each refresh reads again (commits can land out of id order).
OVERLAP_IDS = 1000
PRUNE_EVERY = timedelta(seconds=60)


class FeedbackIndex:
    """Feedback rows of the last ``max(suppress_days, contact window)`` days by account."""

    def __init__(self, sessions: Database, *, suppress_days: int, refresh_seconds: float = 1.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self.suppress_days = suppress_days
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._by_account: dict[str, dict[int, FeedbackRow]] = {}
        self._max_id = 0
        self._refreshed_at: datetime | None = None
        self._pruned_at = datetime.min
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()
        if refresh_seconds > 0:
            self._thread = threading.Thread(target=self._run, name="feedback-index", daemon=True)
            self._thread.start()

    def effects(self, account_ids: Sequence[str], now: datetime) -> FeedbackEffects:
        """What recent feedback does to these accounts' next answer (as ``feedback_effects``)."""
        rows: list[FeedbackRow] = []
        with self._lock:
            for account in account_ids:
                found = self._by_account.get(account)
                if found:
                    rows.extend(found.values())
        if not rows:
            return NO_EFFECTS
        return effects_from_rows(rows, now=now, suppress_days=self.suppress_days)

    def add(self, row: Feedback) -> None:
        """Take a feedback row this process just committed."""
        self._put([(row.id, (row.suggestion_id, row.account_id, row.channel, row.offer_id, row.status,
                             row.executed_by, row.created_at, row.snooze_until, row.outcome))])

    def refresh(self) -> None:
        """Read rows committed since the last refresh (by any process) and drop aged-out ones.

        The ``OVERLAP_IDS`` ids below the highest seen are read again, so a transaction that
        committed after a higher-numbered one is not missed; rows are keyed by id, so none counts twice.
        """
        now = self._clock()
        window_start = effects_since(now, self.suppress_days)
        with self._sessions() as session:
            found = recent_feedback(session, since=window_start, after_id=max(self._max_id - OVERLAP_IDS, 0))
        self._put(found)
        if found:
            self._max_id = max(self._max_id, found[-1][0])
        if self._refreshed_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._drop_before(window_start)
            self._pruned_at = now
        self._refreshed_at = now

    def close(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _put(self, rows: Iterable[tuple[int, FeedbackRow]]) -> None:
        with self._lock:
            for row_id, row in rows:
                self._by_account.setdefault(row[1], {})[row_id] = row

    def _drop_before(self, since: datetime) -> None:
        with self._lock:
            for account in list(self._by_account):
                rows = self._by_account[account]
                for row_id in [i for i, r in rows.items() if r[6] < since and (r[7] is None or r[7] < since)]:
                    del rows[row_id]
                if not rows:
                    del self._by_account[account]

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # the database may be briefly unavailable; the next round retries
                continue

