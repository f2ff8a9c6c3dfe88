"""Items made one step ahead in a forked worker: same items, same order, errors where they occur."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pytest

from features.ahead import one_ahead


def _frames(n: int, fail_at: int | None = None) -> Iterator[tuple[int, int, pd.DataFrame]]:
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"item {i}: bad block")
        yield i, os.getpid(), pd.DataFrame({"i": [i] * 3, "x": [0.1 * i, None, 2.5], "s": ["a", None, "ü"]})


def test_items_come_in_order_equal_and_made_in_the_worker() -> None:
    got = list(one_ahead(_frames(4)))
    expected = list(_frames(4))
    assert [i for i, _, _ in got] == [0, 1, 2, 3]
    for (_, pid, frame), (_, _, same) in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(frame, same, check_exact=True)
        assert pid != os.getpid(), "the item was made in the calling process"
    assert list(one_ahead(_frames(0))) == []


def test_an_error_is_raised_at_its_item_and_the_caller_can_stop_early() -> None:
    seen = []
    with pytest.raises(ValueError, match="item 2: bad block"):
        for i, _, _ in one_ahead(_frames(5, fail_at=2)):
            seen.append(i)
    assert seen == [0, 1]
    items = one_ahead(_frames(100))
    assert next(items)[0] == 0
    items.close()  # the worker is told to stop and joined
