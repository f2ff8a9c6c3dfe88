"""Items of an iterator made one step ahead in a worker process, while the caller uses the previous one.

The worker is a fork of the calling process: it starts with the caller's memory (the loaded data,
shared until either side writes to it), advances the iterator only when the caller asks for the
next item, and sends each item back pickled. So two cores work at once (the worker makes item
i + 1 while the caller works on item i) and at most one item is made ahead. Where fork is not
available, the items are made in the calling process as they are asked for.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_ITEM, _DONE, _ERROR = "item", "done", "error"


def one_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of ``items`` in order, each made in a forked worker one step ahead of the caller.

    ``items`` must not have started (a generator is advanced in the worker only); an exception
    raised while making an item is raised here, at that item."""
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from items
        return
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe()
    worker = context.Process(target=_serve, args=(items, theirs), name="symbiose-ahead", daemon=True)
    worker.start()
    theirs.close()
    try:
        mine.send(True)
        while True:
            try:
                kind, item = mine.recv()
            except EOFError:
                raise RuntimeError(f"the worker making items ahead stopped (exit code {worker.exitcode}) "
                                   "before sending the next item") from None
            if kind == _DONE:
                return
            if kind == _ERROR:
                raise item
            mine.send(True)  # the next item is made while the caller uses this one
            yield item
    finally:
        try:
            mine.send(False)
        except OSError:  # the worker has already gone
            pass
        mine.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()
            worker.join()


def _serve(items: Iterator[Any], conn: Connection) -> None:
    """Worker: one item of ``items`` per request on ``conn`` until told to stop or the items end."""
    try:
        while conn.recv():
            try:
                item = next(items)
            except StopIteration:
                conn.send((_DONE, None))
                return
            conn.send((_ITEM, item))
    except EOFError:  # the caller has gone
        return
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the caller, which raises it
        try:
            conn.send((_ERROR, exc))
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
            conn.send((_ERROR, RuntimeError(f"{type(exc).__name__}: {exc}")))
