"""Reliability curve: binned mean prediction against the observed rate (the picture behind
``models.metrics.expected_calibration_error``, with the same equal-count bins)."""

from __future__ import annotations

import numpy as np
import pandas as pd

RELIABILITY_COLUMNS = ["bin", "mean_predicted", "observed_rate", "count"]


def reliability_curve(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """One row per equal-count bin of the predictions ``p``: mean prediction, observed rate of
    ``y`` (0/1) and the number of examples. A calibrated model lies on the diagonal."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"y and p must have the same shape, got {y.shape} and {p.shape}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if len(y) == 0:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    order = np.argsort(p, kind="mergesort")
    bins = [b for b in np.array_split(order, min(n_bins, len(y))) if len(b)]
    return pd.DataFrame({
        "bin": np.arange(len(bins)),
        "mean_predicted": [float(p[b].mean()) for b in bins],
        "observed_rate": [float(y[b].mean()) for b in bins],
        "count": [len(b) for b in bins],
    })
