"""A value computed once, in a background thread or by its first reader, whichever comes first.

The service answers as soon as suggestions can be served; what only some pages need (account
histories, attributed order lines) is built right after, in a background thread. A request that
needs such a value before it is ready waits for it (:meth:`Deferred.get`); if the background build
failed, every reader gets its error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Deferred(Generic[T]):
    """``build()`` run at most once: by :meth:`start` in a daemon thread, or by the first
    :meth:`get` when nothing started it."""

    def __init__(self, build: Callable[[], T], *, name: str) -> None:
        self._build: Callable[[], T] | None = build
        self._name = name
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    @classmethod
    def ready(cls, value: T, *, name: str) -> Deferred[T]:
        """A deferred value that is already there."""
        deferred: Deferred[T] = cls(lambda: value, name=name)
        deferred.get()
        return deferred

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_ready(self) -> bool:
        """Whether the value (or its error) is there, so :meth:`get` returns at once."""
        return self._done.is_set()

    def start(self) -> Deferred[T]:
        """Build the value in a daemon thread (no-op when already built or building)."""
        threading.Thread(target=self._run, name=f"build-{self._name}", daemon=True).start()
        return self

    def get(self, timeout: float | None = None) -> T:
        """The value: built now in this thread when nobody started it, else waited for.
        Re-raises the build's error; :class:`TimeoutError` after ``timeout`` seconds."""
        self._run()
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self._name} not built within {timeout:g} s")
        if self._error is not None:
            raise RuntimeError(f"building {self._name} failed: {self._error}") from self._error
        return self._value  # type: ignore[return-value]

    def _run(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is building it
        try:
            build, self._build = self._build, None
            if build is None:
                return
            try:
                self._value = build()
            except BaseException as exc:  # kept for every reader
                self._error = exc
            finally:
                self._done.set()
        finally:
            self._lock.release()
