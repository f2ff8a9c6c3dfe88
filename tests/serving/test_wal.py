"""The decision log's write-ahead log is checkpointed beside the commits, not inside them."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest

from serving.log_writer import WriterInThisProcess
from serving.store.db import LOG_WAL_AUTOCHECKPOINT, Database
from serving.store.wal import WalCheckpoints
from tests.serving.test_store import _decision


def _rows_in_the_file_itself(path, tmp_path) -> int:
    """Rows of ``decisions`` in the database file without its write-ahead log (a copy of the
    file alone: what a checkpoint has moved there)."""
    alone = tmp_path / "alone.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as connection:
        return connection.execute("SELECT count(*) FROM decisions").fetchone()[0]


def test_commits_are_checkpointed_by_the_thread_long_before_the_log_reaches_its_bound(tmp_path) -> None:
    path = tmp_path / "log.db"
    Database.open(f"sqlite:///{path}").close()
    writer = WriterInThisProcess(Database.open_log(f"sqlite:///{path}"))
    try:
        with writer.database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == LOG_WAL_AUTOCHECKPOINT
        for batch in range(5):
            writer.write([_decision(f"s{batch}-{i}", account=f"A{i}") for i in range(40)])
        assert writer.checkpoints is not None
        deadline = time.monotonic() + 10
        while _rows_in_the_file_itself(path, tmp_path) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        # 200 rows are some tens of pages of log: no commit checkpoints them itself.
        assert _rows_in_the_file_itself(path, tmp_path) == 200
        assert writer.checkpoints.checkpoints >= 1
    finally:
        writer.close()
    assert not writer.checkpoints._thread.is_alive()


def test_without_the_thread_the_rows_stay_in_the_write_ahead_log(tmp_path) -> None:
    """The check above can fail: the same commits with no checkpoints beside them leave the file alone."""
    path = tmp_path / "log.db"
    Database.open(f"sqlite:///{path}").close()
    database = Database.open_log(f"sqlite:///{path}")
    try:
        with database() as session:
            from serving.store.decisions import log_decisions

            log_decisions(session, [_decision(f"s{i}") for i in range(200)])
        time.sleep(0.2)
        assert _rows_in_the_file_itself(path, tmp_path) == 0
    finally:
        database.close()


def test_checkpoints_need_a_sqlite_engine(database_url: str) -> None:
    database = Database.open(database_url)
    try:
        if database.engine.dialect.name == "sqlite":
            checkpoints = WalCheckpoints(database.engine)
            checkpoints.close()
            assert not checkpoints._thread.is_alive()
        else:
            with pytest.raises(ValueError, match="expected a SQLite engine, got postgresql"):
                WalCheckpoints(database.engine)
            assert WriterInThisProcess(database).checkpoints is None
    finally:
        database.close()
