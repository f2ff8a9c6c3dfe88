"""SQLite's write-ahead log moved into the database file by a thread of its own.

SQLite copies its write-ahead log (WAL) back into the database file in a *checkpoint*, by default
inside the commit that grows the log past 1,000 pages, and with an fsync of both files. The
decision log's rows touch index pages all over the file (suggestion and account ids are not in
insertion order), so under load that commit came every few hundred rows and took 10–25 ms,
holding up every request waiting on it. :class:`WalCheckpoints` runs the checkpoints beside the
commits instead (SQLite lets one checkpoint run while another connection writes): after each
commit the writer nudges it, and it checkpoints whatever the log holds (PASSIVE: it never waits
for a writer or reader). The writer's own automatic checkpoint stays as a bound
(``Database.open_log``: 10,000 pages, about 40 MB) for a thread that falls behind.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

log = logging.getLogger("symbiose.serving")


class WalCheckpoints:
    """PASSIVE checkpoints of ``engine``'s SQLite database by one thread, with one connection of
    the engine's pool, each time :meth:`nudge` was called since the last one."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError(f"WalCheckpoints: expected a SQLite engine, got {engine.dialect.name}")
        self._engine = engine
        self._wanted = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Ask for a checkpoint (after a commit); cheap, never waits."""
        self._wanted.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the checkpoint under way (waits at most ``timeout`` seconds)."""
        self._stopping = True
        self._wanted.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        connection = self._engine.raw_connection()
        errors = self._engine.dialect.loaded_dbapi.Error
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                try:
                    cursor = connection.cursor()
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    cursor.fetchall()
                    cursor.close()
                except errors as exc:  # e.g. locked: the next commit's nudge tries again
                    log.debug("WAL checkpoint not done: %s", exc)
                    continue
                self.checkpoints += 1
        finally:
            connection.close()
