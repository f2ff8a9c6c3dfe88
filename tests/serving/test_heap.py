"""glibc heap tuning of the serving commands: the arena cap and a fixed mmap threshold."""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from serving.heap import M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, tune_malloc

ROOT = Path(__file__).resolve().parents[2]


class FakeLibc:
    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


def test_tune_malloc_sets_what_is_asked_and_leaves_zero_to_glibc() -> None:
    libc = FakeLibc()
    assert tune_malloc(2, 0, libc) == {"M_ARENA_MAX": 2}
    assert libc.calls == [(M_ARENA_MAX, 2)]
    libc.calls.clear()
    assert tune_malloc(0, 4 << 20, libc) == {"M_MMAP_THRESHOLD": 4 << 20, "M_TRIM_THRESHOLD": 8 << 20}
    assert libc.calls == [(M_MMAP_THRESHOLD, 4 << 20), (M_TRIM_THRESHOLD, 8 << 20)]
    assert tune_malloc(0, 0, libc) == {}


def test_tune_malloc_reports_a_refused_or_negative_option() -> None:
    with pytest.raises(ValueError, match="refused M_ARENA_MAX=2"):
        tune_malloc(2, 0, FakeLibc(answer=0))
    with pytest.raises(ValueError, match="got -1 and 0"):
        tune_malloc(-1, 0, FakeLibc())


@pytest.mark.parametrize("env, expected, arrow", [
    ({}, (2, 0), True),
    ({"SYMBIOSE_MALLOC_ARENA_MAX": "0", "SYMBIOSE_MALLOC_MMAP_THRESHOLD": "1048576",
      "SYMBIOSE_ARROW_SYSTEM_ALLOCATOR": "false"}, (0, 1 << 20), False)])
def test_serve_tunes_the_heap_first(env: dict[str, str], expected: tuple[int, int], arrow: bool,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``symbiose serve`` applies the configured heap options before anything else it does (here it
    then stops: no data directory)."""
    import serving.heap
    from serving.cli import main

    asked: list[tuple[int, int]] = []
    arrow_moved: list[bool] = []

    def record(arenas: int, mmap_threshold: int) -> dict[str, int]:
        asked.append((arenas, mmap_threshold))
        return {}

    monkeypatch.setattr(serving.heap, "tune_malloc", record)
    monkeypatch.setattr(serving.heap, "arrow_on_system_allocator", lambda: arrow_moved.append(True) or "system")
    monkeypatch.delenv("SYMBIOSE_DATA", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        main(["serve"])
    assert stopped.value.code
    assert asked == [expected]
    assert arrow_moved == ([True] if arrow else [])


def test_arrow_allocates_from_the_c_heap_once_asked() -> None:
    script = ("import pyarrow as pa; before = pa.default_memory_pool().backend_name; "
              "from serving.heap import arrow_on_system_allocator; print(before, arrow_on_system_allocator())")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    before, after = done.stdout.split()
    assert after == "system" and before != "system"


_THREADS = """
import ctypes, sys, threading
from serving.heap import tune_malloc
if sys.argv[1] == "capped":
    tune_malloc(2, 0)
start, done = threading.Barrier(9), threading.Barrier(9)
def work():
    start.wait()
    kept = [bytearray(20000) for _ in range(200)]  # malloc'd in this thread's arena
    done.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
start.wait()
done.wait()
ctypes.CDLL(None).malloc_stats()  # one "Arena n:" block per arena, on stderr
for t in threads:
    t.join()
"""


@pytest.mark.skipif(platform.system() != "Linux" or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
                    reason="glibc only")
def test_the_arena_cap_holds_with_many_threads() -> None:
    def arenas(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", _THREADS, mode], cwd=ROOT, capture_output=True, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60, check=True)
        return sum(line.startswith("Arena ") for line in done.stderr.splitlines())

    assert arenas("capped") <= 2
    assert arenas("default") > 2  # the test can tell: without the cap, threads get arenas of their own
