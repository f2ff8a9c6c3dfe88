"""Group commit for the decision log: requests hand their shown suggestions to one writer thread
and wait until they are committed, so concurrent requests share one transaction. The thread
commits each batch through a :class:`serving.log_writer.LogWriter`: in the service, a child
process (``WriterInChild``), so that the inserts do not hold this process's interpreter lock.

Requests on the event loop (:meth:`DecisionLog.write_async`) are first gathered in the loop: the
requests of one loop turn become one batch, and while ``in_flight`` batches of the loop are being
written, the rows of every request that arrives meanwhile wait for the next one, so the writer
thread is handed one batch per commit instead of one item per request (a thread hand-off and a
transaction per request cost more than the insert itself). With several batches in flight, the
next one is already queued when a commit ends: the writer does not wait until the busy event loop
has seen the commit's acknowledgement (batches queued together are written in one commit)."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any

from serving.log_writer import LogWriter

if TYPE_CHECKING:
    from serving.metrics import ServiceMetrics


class DecisionLogUnavailable(RuntimeError):
    """The decision log could not be written in time; the suggestions are not shown."""


class DecisionLog:
    """One writer thread committing batches through ``writer``; :meth:`write` (and ``await``
    :meth:`write_async`) return once the rows are committed, or raise :class:`DecisionLogUnavailable`.
    With ``metrics``, each commit's duration, its suggestions per channel and model version, and
    each failed commit are counted there."""

    def __init__(self, writer: LogWriter, *, max_batch: int = 1000, timeout: float = 10.0, in_flight: int = 4,
                 metrics: ServiceMetrics | None = None) -> None:
        if in_flight < 1:
            raise ValueError(f"in_flight: expected at least 1 batch, got {in_flight}")
        self._writer = writer
        self._metrics = metrics
        self._max_batch = max_batch
        self._timeout = timeout
        self._in_flight_limit = in_flight
        self._queue: queue.SimpleQueue[tuple[Sequence[dict[str, Any]], Future[None]] | None] = queue.SimpleQueue()
        # Per event loop: requests waiting for the next batch, and its batches handed over, not yet committed.
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Sequence[dict[str, Any]], asyncio.Future[None]]]] = {}
        self._in_flight: dict[asyncio.AbstractEventLoop, int] = {}
        self._commits: set[asyncio.Task[None]] = set()  # held here: the loop keeps only weak references
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Log ``rows`` (see ``store.decisions.DECISION_FIELDS``); committed when this returns."""
        if not rows:
            return
        future = self.submit(rows)
        try:
            failure = future.exception(timeout=self._timeout)
        except TimeoutError:
            raise DecisionLogUnavailable(f"decision log not written within {self._timeout:g} s") from None
        if failure is not None:
            raise DecisionLogUnavailable(f"decision log not written: {failure}") from failure

    async def write_async(self, rows: Sequence[dict[str, Any]]) -> None:
        """:meth:`write` for the event loop: waits for the commit without holding a thread.

        The rows join the loop's next batch (see the module docstring)."""
        if not rows:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        pending = self._pending.setdefault(loop, [])
        pending.append((rows, waiter))
        if len(pending) == 1 and self._in_flight.get(loop, 0) < self._in_flight_limit:
            loop.call_soon(self._hand_over, loop)  # after this turn's other requests joined
        await waiter

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the loop's gathered requests to the writer thread as one batch, if fewer than
        ``in_flight`` of its batches are under way."""
        in_flight = self._in_flight.get(loop, 0)
        if in_flight >= self._in_flight_limit or not self._pending.get(loop):
            return
        batch = self._pending.pop(loop)
        self._in_flight[loop] = in_flight + 1
        task = loop.create_task(self._commit(loop, batch))
        self._commits.add(task)
        task.add_done_callback(self._commits.discard)

    async def _commit(self, loop: asyncio.AbstractEventLoop,
                      batch: list[tuple[Sequence[dict[str, Any]], asyncio.Future[None]]]) -> None:
        """Wait for ``batch``'s commit, answer its requests, hand over the next batch."""
        failure: DecisionLogUnavailable | None = None
        try:
            await asyncio.wait_for(asyncio.wrap_future(self.submit(
                [row for rows, _ in batch for row in rows])), self._timeout)
        except TimeoutError:
            failure = DecisionLogUnavailable(f"decision log not written within {self._timeout:g} s")
        except Exception as exc:
            failure = DecisionLogUnavailable(f"decision log not written: {exc}")
            failure.__cause__ = exc
        finally:
            left = self._in_flight[loop] - 1
            if left:
                self._in_flight[loop] = left
            else:
                del self._in_flight[loop]
        for _, waiter in batch:
            if waiter.done():  # its request was cancelled (client gone)
                continue
            if failure is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(failure)
        self._hand_over(loop)

    def submit(self, rows: Sequence[dict[str, Any]]) -> Future[None]:
        """Queue ``rows`` for the next group commit; the future is done once they are committed."""
        future: Future[None] = Future()
        self._queue.put((rows, future))
        return future

    def queue_depth(self) -> int:
        """Writes not committed yet: requests gathered in event loops plus submissions queued
        for the writer thread (a batch handed over from a loop counts once)."""
        gathered = sum(len(pending) for pending in list(self._pending.values()))
        return gathered + self._queue.qsize()

    def close(self) -> None:
        """Finish pending writes, stop the writer thread and close the writer."""
        self._queue.put(None)
        self._thread.join(timeout=self._timeout)
        self._writer.close()

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
            shown = [row for rows, _ in batch for row in rows]
            try:
                seconds = self._writer.write(shown)
            except Exception as exc:  # every waiting request gets the error
                if self._metrics is not None:
                    self._metrics.observe_log_failure()
                for _, future in batch:
                    _settle(future, exc)
            else:
                if self._metrics is not None:
                    self._metrics.observe_log_commit(shown, seconds)
                for _, future in batch:
                    _settle(future, None)


def _settle(future: Future[None], failure: BaseException | None) -> None:
    """Finish ``future`` unless its waiter gave up (timed out or disconnected) and cancelled it."""
    try:
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)
    except InvalidStateError:
        pass
