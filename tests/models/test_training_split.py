"""Training splits logged decisions so every part is usable, whatever the time pattern."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.training_config import TrainingConfig
from models.training_data import split_periods


def _examples(times: pd.Series) -> pd.DataFrame:
    n = len(times)
    # every third decision is a `none` holdout with two category rows
    touch = np.repeat(np.arange(n), 1)
    frame = pd.DataFrame({"touch_id": [f"T{i}" for i in touch], "touched_at": times})
    holdouts = frame.iloc[::3].copy()
    return pd.concat([frame, holdouts]).sort_values("touched_at", kind="mergesort").reset_index(drop=True)


def test_split_by_time_when_times_spread() -> None:
    times = pd.Series(pd.date_range("2025-01-01", periods=1000, freq="h"))
    ex = _examples(times)
    train, calib, valid = split_periods(ex, TrainingConfig())
    assert train.any() and calib.any() and valid.any()
    assert ex.loc[train, "touched_at"].max() <= ex.loc[calib, "touched_at"].min()
    assert ex.loc[calib, "touched_at"].max() <= ex.loc[valid, "touched_at"].min()


def test_split_at_random_when_all_decisions_share_one_time() -> None:
    times = pd.Series(pd.Timestamp("2008-03-01"), index=range(3000))
    ex = _examples(times)
    cfg = TrainingConfig()
    train, calib, valid = split_periods(ex, cfg)
    assert abs(valid.mean() - cfg.validation_share) < 0.03
    assert abs(calib.mean() - cfg.calibration_share) < 0.03
    part = np.select([train, calib, valid], [0, 1, 2])
    assert pd.Series(part).groupby(ex["touch_id"]).nunique().max() == 1, "a decision was split across parts"
