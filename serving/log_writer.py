"""Where the decision log's group commits are written: in this process, or in a child process.

Inserting and committing a batch of shown suggestions is Python work (SQLAlchemy, the driver)
that, in the serving process, holds the interpreter lock against the requests: about a third
of the service's CPU per answered request under load. :class:`WriterInChild` hands each batch
to a child process (``python -m serving.log_writer``) that inserts and commits it with
:class:`WriterInThisProcess` and acknowledges the commit; the serving process only pickles the
batch. The child ignores SIGINT and SIGTERM (the service finishes its pending writes and then
closes the child's input) and ends when its input closes, also when the service was killed.

Frames on the child's stdin and stdout: 8-byte big-endian length, then a pickle. The first
frame to the child is the database URL (not on its command line: it may hold a password); then
each frame is a batch (a list of row dicts) answered by ``("ok", seconds)`` or ``("error", text)``.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from serving.store.db import Database
from serving.store.decisions import log_decisions
from serving.store.wal import WalCheckpoints

_LENGTH = struct.Struct("!Q")
#: How much of a failed commit's error text goes back (a database error may quote every row).
MAX_ERROR_CHARS = 1000
ROOT = Path(__file__).resolve().parent.parent


class LogWriteError(RuntimeError):
    """A batch of the decision log was not committed (the text says why)."""


class LogWriter(Protocol):
    """Commits batches of decision-log rows, one at a time."""

    def write(self, rows: Sequence[dict[str, Any]]) -> float:
        """Insert and commit ``rows`` (keys: ``store.decisions.DECISION_FIELDS``); the commit's
        seconds. Raises when they were not committed."""
        ...

    def close(self) -> None:
        """Release what the writer holds (after the last write)."""
        ...


class WriterInThisProcess:
    """Writes in the calling thread through ``database`` (a ``Database.open_log`` engine); on
    SQLite, its write-ahead log is checkpointed by a thread beside the commits (``store.wal``)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.checkpoints = WalCheckpoints(database.engine) if database.engine.dialect.name == "sqlite" else None

    def write(self, rows: Sequence[dict[str, Any]]) -> float:
        started = time.perf_counter()
        with self.database() as session:
            log_decisions(session, rows)
        seconds = time.perf_counter() - started
        if self.checkpoints is not None:
            self.checkpoints.nudge()
        return seconds

    def close(self) -> None:
        if self.checkpoints is not None:
            self.checkpoints.close()
        self.database.close()


class WriterInChild:
    """Writes through a child process on the database at ``url`` (see the module text). A child
    that died is started again for the next batch; the batch it held fails with
    :class:`LogWriteError`. One batch at a time: calls from several threads wait their turn."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._start()

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before a restart)."""
        return self._child.pid if self._child is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        child = subprocess.Popen([sys.executable, "-m", "serving.log_writer"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=env)
        assert child.stdin is not None
        send_frame(child.stdin, self._url)
        self._child = child
        return child

    def write(self, rows: Sequence[dict[str, Any]]) -> float:
        with self._lock:
            child = self._child if self._child is not None and self._child.poll() is None else self._restart()
            assert child.stdin is not None and child.stdout is not None
            try:
                send_frame(child.stdin, list(rows))
                answer = read_frame(child.stdout)
            except (OSError, EOFError) as exc:
                self._stop(child)
                self._child = None
                raise LogWriteError(f"the decision log's writer process ended ({_ended(child, exc)}); "
                                    "it is started again for the next batch") from None
            kind, value = answer
            if kind != "ok":
                raise LogWriteError(str(value))
            return float(value)

    def _restart(self) -> subprocess.Popen[bytes]:
        if self._child is not None:
            self._stop(self._child)
            self._child = None
        return self._start()

    def close(self, timeout: float = 10.0) -> None:
        """Close the child's input (it ends after its current batch) and wait for it. A batch
        still under way after ``timeout`` seconds (waiting on a locked database) is not waited
        for: the child is killed and that batch fails."""
        if not self._lock.acquire(timeout=timeout):
            child = self._child
            if child is not None:
                child.kill()  # the writing thread sees its child end, fails the batch, lets go
            self._lock.acquire()
        try:
            if self._child is not None:
                self._stop(self._child)
                self._child = None
        finally:
            self._lock.release()

    @staticmethod
    def _stop(child: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        for stream in (child.stdin, child.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _ended(child: subprocess.Popen[bytes], exc: BaseException) -> str:
    code = child.poll()
    return f"exit code {code}" if code is not None else f"{type(exc).__name__}: {exc}"


def send_frame(stream: IO[bytes], value: object) -> None:
    """Write one frame (see the module text) and flush it."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """Read one frame; EOFError when the stream ends before a whole frame."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the stream ended")
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError(f"the stream ended after {len(data)} of {length} bytes")
    return pickle.loads(data)


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The child's loop: the URL, then batches until ``source`` ends; every batch is answered."""
    try:
        url = read_frame(source)
    except EOFError:
        return
    writer = WriterInThisProcess(Database.open_log(url))
    try:
        while True:
            try:
                rows = read_frame(source)
            except EOFError:
                return
            try:
                answer: tuple[str, object] = ("ok", writer.write(rows))
            except Exception as exc:  # the batch's requests get the reason
                answer = ("error", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
            send_frame(sink, answer)
    finally:
        writer.close()


def main() -> None:
    """``python -m serving.log_writer``: :func:`serve` on stdin and stdout. Anything else printed
    to stdout (a library's warning) goes to stderr, so that it cannot break a frame."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.flush()
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, sink)


if __name__ == "__main__":
    main()
