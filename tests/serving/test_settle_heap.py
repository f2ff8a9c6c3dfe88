"""``settle_heap``: objects alive at a snapshot swap leave the collector's view, and a replaced
snapshot's reference cycles are still freed at the next swap."""

from __future__ import annotations

import gc
import weakref

from serving.runtime import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_heap_freezes_live_objects_and_frees_replaced_cycles() -> None:
    try:
        old = _Node()
        gone = weakref.ref(old)
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gone() is not None
        del old
        gc.collect()
        assert gone() is not None  # frozen: a full collection no longer looks at it
        settle_heap()  # the next swap hands frozen objects back first
        assert gone() is None
    finally:
        gc.unfreeze()
