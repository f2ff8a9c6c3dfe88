"""The decision log written by a child process: rows committed there, errors and a dead child
reported to the batch they hit, the next batch written by a new child, nothing left running."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from serving.decision_log import DecisionLog, DecisionLogUnavailable
from serving.log_writer import LogWriteError, WriterInChild, read_frame, send_frame
from serving.store.db import Database
from serving.store.decisions import count_decisions
from tests.serving.test_store import _decision


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A migrated SQLite database file of its own."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    Database.open(url).close()
    return url


@contextmanager
def _child(url: str) -> Iterator[WriterInChild]:
    """A child writer on ``url`` (migrated), closed at the end."""
    Database.open(url).close()
    writer = WriterInChild(url)
    try:
        yield writer
    finally:
        writer.close()


def _count(url: str, account_id: str | None = None) -> int:
    with Database.open_log(url) as database, database() as session:
        return count_decisions(session, account_id)


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_frames_round_trip_and_a_short_stream_is_an_end() -> None:
    stream = io.BytesIO()
    send_frame(stream, [{"a": 1}])
    send_frame(stream, ("ok", 0.5))
    whole = stream.getvalue()
    stream.seek(0)
    assert read_frame(stream) == [{"a": 1}]
    assert read_frame(stream) == ("ok", 0.5)
    with pytest.raises(EOFError):
        read_frame(stream)
    cut = io.BytesIO(whole[:-1])
    assert read_frame(cut) == [{"a": 1}]
    with pytest.raises(EOFError, match="ended after"):
        read_frame(cut)


def test_batches_are_committed_by_the_child_and_it_ends_on_close(database_url: str) -> None:
    with _child(database_url) as writer:
        pid = writer.pid
        assert pid is not None and pid != os.getpid()
        seconds = writer.write([_decision(f"c{i}", account="A1") for i in range(3)])
        writer.write([_decision("c3", account="A2")])
    assert seconds > 0
    assert _count(database_url) == 4 and _count(database_url, "A1") == 3
    assert _gone(pid), "the child ends once its input is closed"


def test_a_failed_batch_reports_the_database_error_and_the_next_is_written(database_url: str) -> None:
    with _child(database_url) as writer:
        with pytest.raises(LogWriteError, match="IntegrityError"):
            writer.write([_decision("bad"), {**_decision("x"), "account_id": None}])
        with pytest.raises(LogWriteError, match="account_id"):  # a row without the field
            writer.write([{"suggestion_id": "x"}])
        writer.write([_decision("good")])
    assert _count(database_url) == 1


def test_a_killed_child_fails_its_batch_and_a_new_child_writes_the_next(sqlite_url: str) -> None:
    with _child(sqlite_url) as writer:
        writer.write([_decision("before")])
        first = writer.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        writer._child.wait(10)  # type: ignore[union-attr]  # dead (and reaped) before the next batch
        writer.write([_decision("after")])  # a dead child seen before the batch: started again
        second = writer.pid
        assert second not in (None, first)
        os.kill(second, signal.SIGKILL)
        time.sleep(0.5)
        # Dead while the batch is sent or answered (not seen before): that batch fails, the next
        # one is written by a new child.
        writer._child.poll = lambda: None  # type: ignore[union-attr,method-assign]
        with pytest.raises(LogWriteError, match="writer process ended"):
            writer.write([_decision("lost")])
        writer.write([_decision("again")])
    assert _count(sqlite_url) == 3


def test_the_child_ignores_interrupts_and_finishes_its_batches(sqlite_url: str) -> None:
    with _child(sqlite_url) as writer:
        writer.write([_decision("one")])
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGINT)
        os.kill(writer.pid, signal.SIGTERM)
        time.sleep(0.2)
        writer.write([_decision("two")])
    assert _count(sqlite_url) == 2


def test_a_child_waiting_on_a_locked_database_makes_the_log_unavailable_in_time(sqlite_url: str,
                                                                                 tmp_path) -> None:
    writer = WriterInChild(sqlite_url)
    writer.write([_decision("first")])  # the child is up (its start takes longer than the timeout)
    log = DecisionLog(writer, timeout=0.3)
    blocker = sqlite3.connect(tmp_path / "log.db")
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the child's commit waits
        with pytest.raises(DecisionLogUnavailable, match="within 0.3 s"):
            asyncio.run(log.write_async([_decision("slow")]))
        blocker.rollback()
        log.write([_decision("later")])
    finally:
        blocker.close()
        log.close()
    assert _count(sqlite_url) == 3  # the slow batch was committed once the lock was released


def test_closing_does_not_wait_long_for_a_batch_stuck_on_a_locked_database(sqlite_url: str, tmp_path) -> None:
    import threading

    writer = WriterInChild(sqlite_url)
    writer.write([_decision("first")])
    blocker = sqlite3.connect(tmp_path / "log.db")
    failures: list[BaseException] = []

    def stuck() -> None:
        try:
            writer.write([_decision("stuck")])
        except LogWriteError as exc:
            failures.append(exc)

    try:
        blocker.execute("BEGIN IMMEDIATE")
        thread = threading.Thread(target=stuck)
        thread.start()
        time.sleep(0.3)
        pid = writer.pid
        started = time.monotonic()
        writer.close(timeout=0.5)
        assert time.monotonic() - started < 5  # not SQLite's 30-s busy timeout
        thread.join(5)
        assert pid is not None and _gone(pid)
        assert len(failures) == 1 and "writer process ended" in str(failures[0])
    finally:
        blocker.rollback()
        blocker.close()
    assert _count(sqlite_url) == 1


def test_a_service_decision_log_writes_in_a_child(api) -> None:
    """The service's own log (``open_runtime``) commits in another process."""
    writer = api.runtime.decision_log._writer
    assert isinstance(writer, WriterInChild) and writer.pid not in (None, os.getpid())
