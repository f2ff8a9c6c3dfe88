"""Everything the service holds while it runs: the served snapshot, the database, the decision
log, the token cache, the feedback index and the metrics."""

from __future__ import annotations

import ctypes
import gc
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any, cast

from serving.auth import PrincipalCache
from serving.decision_log import DecisionLog
from serving.feedback_index import FeedbackIndex
from serving.log_writer import WriterInChild
from serving.metrics import ServiceMetrics
from serving.settings import Settings
from serving.snapshot import Snapshot, load_snapshot
from serving.store.db import Database


@dataclass(frozen=True)
class Runtime:
    """The loaded snapshot plus the database and settings.

    Immutable: a new champion is served by swapping in a whole new runtime (:meth:`with_snapshot`).
    """

    settings: Settings
    snapshot: Snapshot
    sessions: Database
    decision_log: DecisionLog
    principals: PrincipalCache
    feedback: FeedbackIndex
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)

    def with_snapshot(self, snapshot: Snapshot) -> Runtime:
        """This runtime serving ``snapshot`` (same database, decision log, token cache and metrics)."""
        return replace(self, snapshot=snapshot)

    def close(self) -> None:
        """Finish pending decision-log writes and release the database connections."""
        self.feedback.close()
        self.decision_log.close()
        self.sessions.close()


def settle_heap(*, full: bool = True) -> None:
    """Collect garbage, then keep every object alive now out of later full collections.

    A served snapshot holds millions of references (object arrays of ids and reasons); each full
    collection of the cyclic garbage collector would walk them all again and pause every request
    (0.17 s at 3,000 accounts on a quiet machine, 0.4-0.6 s under load). ``gc.freeze`` moves them
    out of its view; reference counting still frees a replaced snapshot. Call after a snapshot is
    loaded or swapped in; then the freed memory is given back to the operating system
    (:func:`release_free_memory`).

    ``full``: frozen objects are handed back first, so that reference cycles among them (of a
    replaced snapshot) are freed too, at the cost of walking them all. ``full=False`` collects only
    what was made since the last freeze, without that pause: enough when reference counting freed
    what a swap replaced (:func:`replaced_parts` tells).
    """
    if full:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    release_free_memory()


def replaced_parts(old: Snapshot, new: Snapshot) -> list[weakref.ref[Any]]:
    """Weak references to ``old`` and to each of its fields that ``new`` does not share (those
    that can be weakly referenced: not strings, numbers or plain dicts). When one of them is still
    alive once the requests that held it are answered, a reference cycle among frozen objects
    holds it, and only a full :func:`settle_heap` frees it."""
    parts: list[weakref.ref[Any]] = []
    for value in (old, *(getattr(old, f.name) for f in fields(old) if getattr(old, f.name) is not getattr(new, f.name))):
        try:
            parts.append(weakref.ref(value))
        except TypeError:
            continue
    return parts


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    return None if trim is None else cast(Callable[[int], int], trim)


def release_free_memory() -> bool:
    """Hand the C heap's free pages back to the operating system (glibc's ``malloc_trim``, and
    Arrow's allocator); False where the C library has no ``malloc_trim``.

    Building a snapshot beside the served one takes hundreds of MB of short-lived memory. glibc
    returns freed memory by itself only from the top of its heap, so after a reload the freed
    pages below live objects stayed resident and the service's memory grew with every promotion.
    """
    _release_arrow_pool()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def _release_arrow_pool() -> None:
    """Ask Arrow's own allocator (mimalloc or jemalloc, used when Parquet files are read) to hand
    back the pages it keeps after their buffers were freed; they are not glibc's, so
    ``malloc_trim`` does not reach them. Reading a reload's batch scores left 30-40 MiB each."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


def open_runtime(settings: Settings, snapshot: Snapshot | None = None) -> Runtime:
    """The runtime for ``settings``: a given snapshot (or one loaded now) and the migrated database."""
    snapshot = snapshot or load_snapshot(settings)
    url = settings.resolved_database_url()
    database = Database.open(url, sqlite_synchronous=settings.sqlite_synchronous)
    feedback = FeedbackIndex(database, suppress_days=settings.suppress_days,
                             refresh_seconds=settings.feedback_refresh_seconds)
    metrics = ServiceMetrics()
    return Runtime(settings=settings, snapshot=snapshot, sessions=database,
                   decision_log=DecisionLog(WriterInChild(url), metrics=metrics),
                   principals=PrincipalCache(settings.auth_cache_seconds), feedback=feedback,
                   metrics=metrics)
