"""Reading a data directory in the background: its tables (``features.loading.load_dataset``)
and its files' fingerprint (``serving.scores.data_fingerprint``), each in a thread of its own.

``symbiose serve`` starts the reading before it loads the rest of the service's code, so that
reading the tables (mostly outside the interpreter lock: Arrow's parser, hashing) and importing
run at the same time. Light on purpose: it imports only what reading needs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from features.dataset import Dataset
from features.loading import load_dataset
from serving.scores import data_fingerprint

T = TypeVar("T")


class DataReading:
    """The tables and fingerprint of ``directory``, being read since construction."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._fingerprint = _in_thread(data_fingerprint, self.directory, name="data-fingerprint")
        self._dataset = _in_thread(load_dataset, self.directory, name="data-read")

    def result(self) -> tuple[Dataset, str]:
        """(dataset, fingerprint) once both are done; raises what reading raised (e.g. a
        ``ContractError`` listing every problem of the files)."""
        dataset = self._dataset.result()
        return dataset, self._fingerprint.result()


def _in_thread(work: Callable[[Path], T], directory: Path, *, name: str) -> Future[T]:
    """``work(directory)`` in a daemon thread (an error elsewhere ends the command at once,
    without waiting for the reading)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work(directory))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader of the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
