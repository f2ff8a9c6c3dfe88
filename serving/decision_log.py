"""Group commit for the decision log: request threads hand their shown suggestions to one writer
thread and wait until they are committed, so concurrent requests share one transaction."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from serving.store.decisions import log_decisions


class DecisionLogUnavailable(RuntimeError):
    """The decision log could not be written in time; the suggestions are not shown."""


class DecisionLog:
    """One writer thread; :meth:`write` returns once the rows are committed (or raises)."""

    def __init__(self, sessions: sessionmaker[Session], *, max_batch: int = 1000, timeout: float = 10.0) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._timeout = timeout
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Log ``rows`` (see ``store.decisions.DECISION_FIELDS``); committed when this returns."""
        if not rows:
            return
        done = threading.Event()
        failure: list[BaseException] = []
        self._queue.put((rows, done, failure))
        if not done.wait(self._timeout):
            raise DecisionLogUnavailable(f"decision log not written within {self._timeout:g} s")
        if failure:
            raise DecisionLogUnavailable(f"decision log not written: {failure[0]}") from failure[0]

    def close(self) -> None:
        """Finish pending writes and stop the writer thread."""
        self._queue.put(None)
        self._thread.join(timeout=self._timeout)
        self._sessions.kw["bind"].dispose()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    extra = self._queue.get_nowait()
                except queue.Empty:
                    break
                if extra is None:
                    self._queue.put(None)
                    break
                batch.append(extra)
            try:
                with self._sessions() as session:
                    log_decisions(session, [row for rows, _, _ in batch for row in rows])
            except Exception as exc:  # every waiting request gets the error
                for _, _, failure in batch:
                    failure.append(exc)
            finally:
                for _, done, _ in batch:
                    done.set()
