"""How the C heap of the serving process behaves: glibc's arena count, when it unmaps freed blocks,
and Arrow allocating from it.

A service holds one large snapshot and builds the next one beside it in a thread of its own, while
uvicorn's thread pool answers pages in tens of threads. glibc gives threads up to 8 arenas per
core; memory freed in one of them is kept there for later use, in pieces between live blocks that
``malloc_trim`` cannot give back. Fewer arenas mean the free pieces are reused by the next reload
instead of growing the process with each one.
"""

from __future__ import annotations

import ctypes
from typing import Protocol

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


class MallocOptions(Protocol):
    """The part of the C library used here (glibc's ``mallopt``)."""

    def mallopt(self, param: int, value: int) -> int: ...


def _glibc() -> MallocOptions | None:
    lib = ctypes.CDLL(None)
    return lib if hasattr(lib, "mallopt") and hasattr(lib, "gnu_get_libc_version") else None


def tune_malloc(arena_max: int, mmap_threshold: int, libc: MallocOptions | None = None) -> dict[str, int]:
    """Cap glibc's arenas at ``arena_max`` and unmap freed blocks of ``mmap_threshold`` bytes or
    more (0 leaves either to glibc). Returns the options set, {} off glibc.

    Call at process start, before threads allocate: arenas created before stay. A fixed mmap
    threshold also stops glibc raising it (up to 32 MiB) after a large block is freed, so a
    reload's large temporaries are unmapped when freed instead of staying in an arena; the trim
    threshold is set to twice it, as glibc's own rule does.
    """
    if arena_max < 0 or mmap_threshold < 0:
        raise ValueError(f"arena_max and mmap_threshold must be >= 0 (0: glibc's default), "
                         f"got {arena_max} and {mmap_threshold}")
    lib = libc if libc is not None else _glibc()
    if lib is None:
        return {}
    wanted = {}
    if arena_max:
        wanted["M_ARENA_MAX"] = (M_ARENA_MAX, arena_max)
    if mmap_threshold:
        wanted["M_MMAP_THRESHOLD"] = (M_MMAP_THRESHOLD, mmap_threshold)
        wanted["M_TRIM_THRESHOLD"] = (M_TRIM_THRESHOLD, 2 * mmap_threshold)
    applied = {}
    for name, (param, value) in wanted.items():
        if lib.mallopt(param, value) != 1:  # mallopt answers 1 on success
            raise ValueError(f"glibc refused {name}={value}")
        applied[name] = value
    return applied


def arrow_on_system_allocator() -> str:
    """Make Arrow (which reads Parquet files and holds pandas' text columns) allocate from the C
    library's heap instead of its own pool (mimalloc or jemalloc); the backend's name.

    Memory Arrow's own pool frees stays in it: reading a reload's batch scores left 40-50 MiB in
    the process for good, where on glibc's heap the same reads left 16-20 MiB (the arena cap and
    ``malloc_trim`` apply there). Call at process start, before Arrow allocates."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    return str(pa.default_memory_pool().backend_name)
