"""Items of a numbered series made in forked worker processes, handed back in order.

Each worker is a fork of the calling process: it starts with the caller's memory (the loaded
data, shared until either side writes to it), makes the items given to it one at a time and sends
each back pickled. With ``workers`` workers, item i is made by worker i mod ``workers``, so every
core works on an item of its own, and each worker starts its next item as soon as the caller takes
its previous one: at most one item per worker is made ahead of the caller. Where fork is not
available, or one worker or item would do, the items are made in the calling process as they are
asked for.

OpenMP libraries do not survive a fork once their threads have started: each worker limits them to
one thread (``threadpoolctl``), which is also what several workers on as many cores want. Workers
ignore Ctrl-C (SIGINT): the caller gets it and ends them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _ERROR = "item", "error"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def made_in_workers(make: Callable[[int], T], count: int, workers: int) -> Iterator[T]:
    """``make(0)``, …, ``make(count - 1)`` in order, made by ``workers`` forked workers.

    ``make`` runs in the workers only (with fork); an exception raised while making an item is
    raised here, at that item. Stopping early (an error, closing the iterator, Ctrl-C in the caller)
    ends the workers at once, whatever they are making."""
    if count < 0 or workers < 1:
        raise ValueError(f"made_in_workers: expected count >= 0 and workers >= 1, got {count} and {workers}")
    workers = min(workers, count)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (make(i) for i in range(count))
        return
    context = multiprocessing.get_context("fork")
    conns: list[Connection] = []
    procs: list[multiprocessing.process.BaseProcess] = []
    finished = False
    try:
        for w in range(workers):
            mine, theirs = context.Pipe()
            proc = context.Process(target=_serve, args=(make, theirs), name=f"symbiose-worker-{w}", daemon=True)
            proc.start()
            theirs.close()
            conns.append(mine)
            procs.append(proc)
            mine.send(w)
        for i in range(count):
            w = i % workers
            try:
                kind, item = conns[w].recv()
            except EOFError:
                raise RuntimeError(f"worker {w} stopped (exit code {procs[w].exitcode}) "
                                   f"before sending item {i}") from None
            if kind == _ERROR:
                raise item
            if i + workers < count:
                conns[w].send(i + workers)  # made while the caller uses this one
            yield item
        finished = True
    finally:
        for conn in conns:
            try:
                conn.send(None)
            except OSError:  # the worker has already gone
                pass
            conn.close()
        for worker in procs:
            # Idle once every item was taken; otherwise (an error, the caller stopped early or was
            # interrupted) what a worker is still making is not wanted.
            worker.join(timeout=5 if finished else 0)
            if worker.is_alive():
                worker.terminate()
                worker.join()


def _serve(make: Callable[[int], Any], conn: Connection) -> None:
    """Worker: ``make(i)`` for each number ``i`` received on ``conn``, until None or the caller goes."""
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it stops the workers
    threadpool_limits(1)
    try:
        while (i := conn.recv()) is not None:
            try:
                conn.send((_ITEM, make(i)))
            except BaseException as exc:  # noqa: BLE001 - every failure goes to the caller, which raises it
                try:
                    conn.send((_ERROR, exc))
                except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
                    conn.send((_ERROR, RuntimeError(f"{type(exc).__name__}: {exc}")))
                return
    except EOFError:  # the caller has gone
        return
