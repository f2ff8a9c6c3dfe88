"""Items made in forked workers: same items, same order, errors where they occur."""

from __future__ import annotations

import os
import threading
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.ahead import made_in_workers, usable_cores


def _frame(i: int, fail_at: int | None = None) -> tuple[int, int, pd.DataFrame]:
    if i == fail_at:
        raise ValueError(f"item {i}: bad block")
    return i, os.getpid(), pd.DataFrame({"i": [i] * 3, "x": [0.1 * i, None, 2.5], "s": ["a", None, "ü"]})


@pytest.mark.parametrize("workers", [2, 3])
def test_items_come_in_order_equal_and_made_in_the_workers(workers: int) -> None:
    got = list(made_in_workers(_frame, 7, workers))
    assert [i for i, _, _ in got] == list(range(7))
    for i, pid, frame in got:
        pd.testing.assert_frame_equal(frame, _frame(i)[2], check_exact=True)
        assert pid != os.getpid(), "the item was made in the calling process"
    assert len({pid for _, pid, _ in got}) == workers  # each worker made its share
    assert list(made_in_workers(_frame, 0, workers)) == []


def test_one_worker_or_one_item_is_made_in_the_calling_process() -> None:
    assert [pid for _, pid, _ in made_in_workers(_frame, 3, 1)] == [os.getpid()] * 3
    assert [pid for _, pid, _ in made_in_workers(_frame, 1, 4)] == [os.getpid()]
    with pytest.raises(ValueError, match="workers >= 1"):
        list(made_in_workers(_frame, 3, 0))


def test_an_error_is_raised_at_its_item_and_the_caller_can_stop_early() -> None:
    seen = []
    with pytest.raises(ValueError, match="item 3: bad block"):
        for i, _, _ in made_in_workers(lambda i: _frame(i, fail_at=3), 6, 2):
            seen.append(i)
    assert seen == [0, 1, 2]
    items = made_in_workers(_frame, 100, 2)
    assert next(items)[0] == 0
    items.close()  # the workers are told to stop and joined


def test_lightgbm_predicts_in_workers_after_the_caller_used_its_threads() -> None:
    """OpenMP's threads started in the caller do not survive a fork: the workers must not hang."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 8))
    y = (X[:, 0] + rng.normal(size=4000) > 0).astype(int)
    got: dict[str, np.ndarray] = {}

    def caller() -> None:  # OpenMP's threads belong to the thread that started them: one thread does all
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": max(2, usable_cores())},
                            lgb.Dataset(X, y), num_boost_round=20)
        got["expected"] = booster.predict(X)  # the caller's OpenMP threads are running now
        parts = made_in_workers(lambda i: booster.predict(X[i * 1000:(i + 1) * 1000]), 4, 2)
        got["parts"] = np.concatenate(list(parts))

    # In a daemon thread, so that a hung worker fails the test instead of stalling the suite.
    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the workers hung in LightGBM's predict"
    np.testing.assert_array_equal(got["parts"], got["expected"])


def _slow_after_two(i: int) -> int:
    if i >= 2:
        time.sleep(60)
    return os.getpid()


def test_stopping_early_ends_workers_still_making_items_at_once() -> None:
    items = made_in_workers(_slow_after_two, 6, 2)
    pids = [next(items), next(items)]  # both workers are now busy with items 2 and 3
    started = time.perf_counter()
    items.close()
    assert time.perf_counter() - started < 4, "closing waited for items nobody wants"
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
