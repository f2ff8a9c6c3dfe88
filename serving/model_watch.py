"""Hot reload: follow the registry's ``champion`` alias without a restart.

A background thread asks the registry every ``SYMBIOSE_MODEL_POLL_SECONDS`` which version is
champion. When it differs from the served one, a child process scores the data directory with
that version (``serving.child_scoring``), the thread loads its scores into a new
:class:`~serving.runtime.Snapshot` while the old one keeps serving, then swaps in a new runtime
with one attribute assignment. Requests take the runtime once
(``serving.api.deps.get_runtime``), so each sees either the old snapshot or the new one, whole.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from models.registry import MODEL_NAME, champion_version, configure_tracking, version_label
from serving.child_scoring import load_snapshot_apart, replace_settings
from serving.runtime import Runtime, replaced_parts, settle_heap
from serving.settings import Settings
from serving.snapshot import Snapshot

log = logging.getLogger("symbiose.serving")


class RuntimeHolder(Protocol):
    """Where the served runtime lives (``app.state``)."""

    runtime: Runtime


#: The interpreter's switch interval while a reload is under way (Python's default: 5 ms).
RELOAD_SWITCH_SECONDS = 0.0005


@contextmanager
def short_switches(seconds: float = RELOAD_SWITCH_SECONDS) -> Iterator[None]:
    """Let the interpreter switch threads every ``seconds`` instead of every 5 ms, then restore it.

    While a reload reads and indexes the new scores, its thread is busy in the interpreter (the
    whole reload runs with short switches, the child's run included). A
    request thread that gave up the interpreter lock (to wait for the database, a socket) may
    then wait a whole switch interval to get it back, at each of the dozens of times it does so
    per request."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def follows_champion(settings: Settings) -> bool:
    """Whether a service with ``settings`` should follow the champion: no explicit model, a data
    directory to score, and a poll interval above zero."""
    return settings.model is None and settings.data is not None and settings.model_poll_seconds > 0


class ChampionWatcher:
    """Polls the champion alias and swaps in a freshly built snapshot when it moves."""

    def __init__(self, holder: RuntimeHolder, interval: float, *,
                 load: Callable[[Settings], Snapshot] | None = None,
                 champion: Callable[[], int | None] = champion_version) -> None:
        if interval <= 0:
            raise ValueError(f"poll interval: expected seconds > 0, got {interval!r}")
        self.holder = holder
        self.interval = float(interval)
        self._load = load or self._load_apart
        self._champion = champion
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: str | None = None
        self._replaced: list[weakref.ref[Any]] = []
        self.last_error: str | None = None
        self.reloads = 0
        self.full_collections = 0

    def start(self) -> ChampionWatcher:
        """Start polling in a daemon thread (the first check after one interval)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="champion-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling and end a scoring child process in progress; waits up to ``timeout``
        seconds for the reload to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.free_replaced()
                self.check_once()
            except Exception as exc:  # keep serving the old snapshot; try again next time
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("champion check failed: %s", self.last_error)

    def free_replaced(self) -> bool:
        """After a swap, one poll interval later: when part of the replaced snapshot is still
        alive (not freed by reference counting once the requests that held it were answered), a
        full collection frees it; True when one was made. The swap itself collects only young
        objects, so as not to pause requests for a walk over every frozen one."""
        replaced, self._replaced = self._replaced, []
        alive = [type(value).__name__ for value in (ref() for ref in replaced) if value is not None]
        if not alive:
            return False
        started = time.perf_counter()
        settle_heap(full=True)
        self.full_collections += 1
        log.info("a full garbage collection for the replaced snapshot's %s took %.2f s", ", ".join(alive),
                 time.perf_counter() - started)
        return True

    def check_once(self) -> bool:
        """Reload if the champion is not the served version; True when a new snapshot was swapped in.

        A version that failed to load is not tried again until the champion moves on.
        """
        configure_tracking()
        version = self._champion()
        if version is None:
            return False
        wanted = version_label(version)
        current = self.holder.runtime
        if wanted in (current.snapshot.model.version, self._failed):
            return False
        settings = replace_settings(current.settings, model=f"models:/{MODEL_NAME}/{version}")
        started = time.perf_counter()
        try:
            with short_switches():
                # Order lines of the same files are kept, with the caches built on them.
                snapshot = self._load(settings).sharing_data_of(current.snapshot)
                loaded = time.perf_counter()
                snapshot.prepare()
        except Exception:
            self._failed = wanted
            raise
        prepared = time.perf_counter()
        self._failed = None
        self.last_error = None
        if snapshot.model.version == current.snapshot.model.version:
            return False
        versions = (snapshot.model.version, current.snapshot.model.version)
        snapshot_source = snapshot.scored_from
        self.holder.runtime = self.holder.runtime.with_snapshot(snapshot)
        self._replaced += replaced_parts(current.snapshot, snapshot)  # until free_replaced looks
        del current, snapshot  # so that the replaced snapshot can be freed now
        with short_switches():
            settle_heap(full=False)
        self.reloads += 1
        log.warning("now serving %s (was %s): %s in %.1f s, histories and order lines in %.1f s, heap settled "
                    "in %.1f s", *versions, snapshot_source, loaded - started, prepared - loaded,
                    time.perf_counter() - prepared)
        return True

    def _load_apart(self, settings: Settings) -> Snapshot:
        """The default load: scored by a child process that :meth:`stop` ends
        (``serving.child_scoring``), sharing with the served snapshot what does not depend on
        the model when the data directory's files are unchanged."""
        return load_snapshot_apart(settings, stop=self._stop, served=self.holder.runtime.snapshot)


def watch_champion(holder: RuntimeHolder) -> ChampionWatcher | None:
    """A started watcher for the runtime in ``holder`` when its settings follow the champion."""
    settings = holder.runtime.settings
    if not follows_champion(settings):
        return None
    return ChampionWatcher(holder, settings.model_poll_seconds).start()
